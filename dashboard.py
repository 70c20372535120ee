"""cxdata dashboard: the router. Pages are registered here; each is a thin file in app_pages/."""

import streamlit as st

from cxdata import ui

st.set_page_config(page_title="cxdata", page_icon=":material/insights:", layout="wide")

store = ui.store()
ui.ensure_data(store)
ui.refresh_version(store)
ui.sidebar_filters(store)

navigation = st.navigation(
    {
        "Research": [
            st.Page(
                "app_pages/overview.py",
                title="Data overview",
                icon=":material/table_chart:",
                default=True,
            ),
            st.Page("app_pages/upload.py", title="Upload", icon=":material/upload_file:"),
        ],
        "Executive": [
            st.Page("app_pages/heatmaps.py", title="Journey heatmaps", icon=":material/grid_on:"),
            st.Page("app_pages/priorities.py", title="Priorities", icon=":material/flag:"),
        ],
        "Analysis": [
            st.Page("app_pages/personas.py", title="Personas", icon=":material/groups:"),
            st.Page("app_pages/compare.py", title="Compare segments", icon=":material/compare:"),
        ],
    }
)
navigation.run()
