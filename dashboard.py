"""cxdata dashboard: the router. Pages are registered here; each is a thin file in app_pages/.

In team mode the menu lists only the pages the user's role may see; each page checks the
role again itself (`signin.guard`), and so does every action (`cxdata.app.actions`).
This is the one place that shows domain errors (`cxdata.errors.CxError`: a busy
database, a bad filter, a missing model, bad settings, a refused file): a message and
the table of problems, never a traceback.
"""

import streamlit as st

from cxdata.app import data, signin, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.errors import CxError

PAGES = {
    "Research": [
        ("app_pages/overview.py", "Data overview", ":material/table_chart:", Action.VIEW_OVERVIEW),
        ("app_pages/upload.py", "Upload", ":material/upload_file:", Action.UPLOAD),
        (
            "app_pages/quality.py",
            "Observation quality",
            ":material/fact_check:",
            Action.VIEW_QUALITY,
        ),  # fmt: skip
        (
            "app_pages/framework.py",
            "Journey framework",
            ":material/account_tree:",
            Action.IMPORT_FRAMEWORK,
        ),  # fmt: skip
    ],
    "Executive": [
        ("app_pages/heatmaps.py", "Journey heatmaps", ":material/grid_on:", Action.VIEW_HEATMAPS),
        ("app_pages/priorities.py", "Priorities", ":material/flag:", Action.VIEW_PRIORITIES),
        ("app_pages/trends.py", "Trends", ":material/trending_up:", Action.VIEW_HEATMAPS),
    ],
    "Analysis": [
        ("app_pages/personas.py", "Personas", ":material/groups:", Action.VIEW_PERSONAS),
        ("app_pages/compare.py", "Compare segments", ":material/compare:", Action.COMPARE),
    ],
    "Admin": [
        ("app_pages/admin.py", "Administration", ":material/settings:", Action.SETTINGS),
    ],
}


def run() -> None:
    """Sign in, open the store (the sample on a first start), the shared filters, then the
    page the user chose among those their role may see."""
    principal = signin.sign_in()
    store = data.store()
    data.ensure_data(store, principal.actor)
    data.refresh_version(store)
    data.ensure_personas(store)
    widgets.sidebar_filters(store)
    allowed = {
        section: [page for page in pages if principal.can(page[3])]
        for section, pages in PAGES.items()
    }
    first = next(page[0] for pages in allowed.values() for page in pages)
    navigation = st.navigation(
        {
            section: [
                st.Page(path, title=title, icon=icon, default=path == first)
                for path, title, icon, _ in pages
            ]
            for section, pages in allowed.items()
            if pages
        }
    )
    navigation.run()


st.set_page_config(page_title="cxdata", page_icon=":material/insights:", layout="wide")
try:
    run()
except CxError as error:
    st.error(md(error))
    if (problems := error.table()) is not None:
        st.dataframe(problems, hide_index=True)
