"""cxdata dashboard: the router. Pages are registered here; each is a thin file in pages/."""

import streamlit as st

from cxdata import ui

st.set_page_config(page_title="cxdata", page_icon=":material/insights:", layout="wide")

store = ui.store()
ui.ensure_data(store)

navigation = st.navigation(
    {
        "Research": [
            st.Page(
                "pages/overview.py",
                title="Data overview",
                icon=":material/table_chart:",
                default=True,
            ),
            st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:"),
        ],
    }
)
navigation.run()
