"""Journey framework: see the active stages, touchpoints and interaction catalogue, edit them
as a new version, import and export the framework files, and leave the sample behind."""

import streamlit as st

from cxdata.app import actions, data, signin
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.errors import IngestError
from cxdata.framework import active_framework, framework_versions
from cxdata.framework.files import framework_table
from cxdata.sample.remove import only_sample_data

principal = signin.guard(Action.IMPORT_FRAMEWORK)
store = data.store()
st.title("Journey framework")
st.caption(
    "The stages in journey order, their touchpoints, and the interaction catalogue: an "
    "observer may record a code instead of a score, and the catalogue supplies the score. "
    "Every change is stored as a new version; earlier versions stay."
)
if message := st.session_state.pop("framework_message", None):
    st.success(md(message))


def problems(error: IngestError, what: str) -> None:
    """Every problem of a refused framework, as the router shows a domain error."""
    st.error(f"{md(what)}: {md(error)}. Nothing was saved; fix every row listed below.")
    st.dataframe(error.table(), hide_index=True)


fw = active_framework(store)
versions = framework_versions(store)
if fw is None:
    st.info(
        "There is no journey framework yet: stages are then ordered as the data files name "
        "them, and no interaction code has a score. Fill in the table below or import a file."
    )
else:
    active = versions.iloc[0]
    st.markdown(
        f"**Active: version {int(active['version'])}** ({md(active['source_name'])}, "
        f"{active['created_at']:%Y-%m-%d %H:%M}): {md(fw.summary())}, "
        f"{sum(x.moment_of_truth for x in fw.interactions)} moments of truth."
    )
    st.subheader("Stages in journey order")
    st.dataframe(
        [
            {"position": i, "stage": s.name, "touchpoints": ", ".join(s.touchpoints)}
            for i, s in enumerate(fw.stages, start=1)
        ],
        hide_index=True,
    )

st.subheader("Interaction catalogue")
st.caption(
    "One row per interaction code, grouped by stage and touchpoint; a row with an empty code "
    "only declares a stage and touchpoint. Stages and touchpoints keep their order of first "
    "appearance. Score: the graded score the code stands for; moment of truth: an interaction "
    "that decides whether a customer stays. Add rows at the bottom, delete them by selecting."
)
editor_version = "none" if fw is None else int(versions.iloc[0]["version"])
edited = st.data_editor(
    framework_table(fw),
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    key=f"framework_editor_{editor_version}",
    column_config={
        "score": st.column_config.NumberColumn("score", format="%g"),
        "moment_of_truth": st.column_config.CheckboxColumn("moment of truth"),
    },
)
if st.button("Save as a new version", type="primary", key="framework_save"):
    try:
        version, created = actions.save_edited_framework(principal, store, edited)
    except IngestError as error:
        problems(error, "The edited framework")
    else:
        st.session_state["framework_message"] = (
            f"Saved as version {version}." if created
            else f"Nothing changed: the table equals the active version {version}."
        )  # fmt: skip
        st.rerun()

st.subheader("Import and export")
left, right = st.columns(2)
upload = left.file_uploader("Framework file (TOML or CSV)", type=["toml", "csv"],
                            key="framework_upload")  # fmt: skip
if upload is not None and left.button("Import as a new version", key="framework_import"):
    try:
        version = actions.import_framework_upload(principal, store, upload.name, upload.getvalue())
    except IngestError as error:
        problems(error, upload.name)
    else:
        st.session_state["framework_message"] = f"{upload.name}: the active version is {version}."
        st.rerun()
if fw is not None and principal.can(Action.EXPORT):
    who = signin.principal_when_called()
    for fmt, mime in (("toml", "application/toml"), ("csv", "text/csv")):
        right.download_button(
            f"Framework ({fmt.upper()})",
            lambda fmt=fmt: actions.export_framework(who(), store, fmt),
            f"framework.{fmt}",
            mime,
            key=f"framework_{fmt}",
            on_click="ignore",
        )
    right.caption("Both files import back unchanged; the CSV opens in a spreadsheet.")

st.subheader("Version history")
if versions.empty:
    st.caption("No version yet.")
else:
    st.caption("Newest first; the first row is active. Batches are scored with the active one.")
    st.dataframe(versions, hide_index=True)

if only_sample_data(store):
    st.subheader("Start with my own data")
    st.markdown(
        "Everything in the store came from the sample data set. This removes every sample "
        "batch, the sample's journey framework, the persona models fitted on it and the stage "
        "order its mappings declared, in one step (recorded in the audit trail), "
        "so your own framework and files start from an empty store. A framework you imported "
        "or edited yourself stays."
    )
    sure = st.checkbox("Remove the sample data and its framework", key="framework_sure")
    if st.button("Start with my own data", key="framework_own_data"):
        if not sure:
            st.warning("Nothing was removed: tick the box above to confirm first.")
        else:
            removed = actions.start_with_own_data(principal, store)
            st.session_state["framework_message"] = (
                f"Removed {removed.batches} sample batches ({removed.observations:,} "
                f"observations), {removed.framework_versions} sample framework version(s) and "
                f"{removed.persona_models} persona model(s) fitted on them."
            )
            st.rerun()
