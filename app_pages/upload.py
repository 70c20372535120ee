"""Upload: check a file (mapping, problems), import it as one batch, manage batches."""

import streamlit as st

from cxdata.app import actions, data, signin
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.tables import batch_table
from cxdata.errors import CxError

principal = signin.guard(Action.UPLOAD)
store = data.store()
st.title("Upload observations")
st.caption(
    "CSV (comma, semicolon or tab; UTF-8, UTF-16 or Windows-1252), Excel .xlsx, Parquet, "
    "JSON or NDJSON. One file becomes one batch: imported completely or not at all."
)

left, right = st.columns([2, 1])
upload = left.file_uploader("Observation file", key="upload_file")
mapping_upload = right.file_uploader(
    "Mapping file (optional, TOML)", type=["toml"], key="upload_mapping"
)
study = right.text_input("Study for rows without one", key="upload_study") or None
sheet = right.text_input("Excel sheet (default: the first)", key="upload_sheet") or None
row_ids = right.checkbox(
    "Each row is one respondent",
    key="upload_row_ids",
    help="For a file without a respondent id (e.g. a wide survey export): each row gets "
    "the id <file stem>-<row number>, the header being row 1.",
)

if upload is not None:
    content = upload.getvalue()
    mapping = mapping_upload.getvalue() if mapping_upload else None
    mapping_name = mapping_upload.name if mapping_upload else "mapping.toml"
    checked = data.preview(
        principal,
        str(store.path),
        store.data_version(),
        upload.name,
        content,
        mapping,
        study,
        sheet,
        mapping_name,
        row_ids,
    )

    def import_file(**how):
        """The upload as checked above, imported (`how`: replace, progress)."""
        return actions.import_upload(
            principal, store, upload.name, content, mapping, mapping_name=mapping_name,
            row_ids=row_ids, study=study, sheet=sheet, **how,
        )  # fmt: skip

    if checked.result is None and checked.mapping_file is not None:
        st.error(
            f"{md(checked.mapping_file)}: {checked.total:,} problem(s) in the mapping file; "
            "nothing can be checked or imported until they are fixed. Each row below names "
            "the line (row) and key in the mapping file."
        )
        st.dataframe(checked.problems, hide_index=True)
    elif checked.result is None:
        st.error(
            f"{md(upload.name)}: {checked.total:,} problem(s) found; nothing can be imported "
            "until they are fixed. Each row below names the row and column in your file."
        )
        st.dataframe(checked.problems, hide_index=True)
        if checked.total > len(checked.problems):
            st.caption(f"Showing the first {len(checked.problems):,} problems.")
    elif checked.result.already_imported:
        st.info(md(checked.result.message()))
        old_batch = checked.result.batch_id
        if checked.result.mapping_differs and st.button(
            f"Replace batch {old_batch}", key="upload_replace", type="primary"
        ):
            st.success(md(import_file(replace=True).message()))
    else:
        result = checked.result
        st.success(
            f"{md(upload.name)}: {md(result.description)}. "
            f"{result.rows:,} observations are ready to import."
        )
        st.markdown("**Detected columns**")
        st.dataframe(
            [{"canonical column": k, "column in your file": v} for k, v in result.columns.items()]
            + [
                {"canonical column": f"attribute ({t})", "column in your file": c}
                for c, t in result.extras.items()
            ],
            hide_index=True,
        )
        if result.warnings:
            st.warning(
                "Warnings (the rows are kept):\n\n"
                + "\n".join(f"- {md(w.line())}" for w in result.warnings)
            )
        if st.button("Import", type="primary", key="upload_import"):
            bar = st.progress(0.0, "Importing…")
            done = import_file(progress=lambda f, m: bar.progress(f, m))
            st.success(md(done.message()))

CONFIRM_REMOVAL = "Yes, remove this batch and all its observations"
st.subheader("Batches")
batches = store.batches()
if batches.empty:
    st.info("No batches yet.")
else:
    st.dataframe(batch_table(batches), hide_index=True)
    names = batches.set_index("batch_id")["source_name"]

    def remove_chosen() -> None:
        """Runs on the click, before the page: removes only with the tick, then clears the
        tick, so every removal is confirmed anew; says why when nothing happened."""
        state = st.session_state
        if not state.get("remove_batch_sure"):
            state["remove_batch_note"] = (
                f'Nothing was removed: tick "{CONFIRM_REMOVAL}" and click Remove batch again. '
                "The tick clears after every removal, so each one is confirmed on its own."
            )
            return
        chosen = int(state["remove_batch_id"])
        state["remove_batch_sure"] = False
        try:
            removed = actions.remove_batch(principal, store, chosen)
        except CxError as error:  # a callback runs outside the router's error display
            state["remove_batch_note"] = str(error)
            return
        state["remove_batch_done"] = f"Removed batch {chosen} ({removed:,} observations)."

    with st.form("remove_batch"):
        st.selectbox("Remove a batch", batches["batch_id"].tolist(), key="remove_batch_id",
                     format_func=lambda b: f"{b}: {names.get(b, '')}")  # fmt: skip
        st.checkbox(CONFIRM_REMOVAL, key="remove_batch_sure")
        st.form_submit_button("Remove batch", on_click=remove_chosen)
    if note := st.session_state.pop("remove_batch_note", None):
        st.warning(md(note))
    if done := st.session_state.pop("remove_batch_done", None):
        st.toast(done)
