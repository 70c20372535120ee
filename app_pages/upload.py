"""Upload: check a file (mapping, problems), import it as one batch, manage batches."""

import streamlit as st

from cxdata.app import actions, data, signin
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.tables import batch_table

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

if upload is not None:
    content = upload.getvalue()
    mapping = mapping_upload.getvalue() if mapping_upload else None
    checked = data.preview(
        principal,
        str(store.path),
        store.data_version(),
        upload.name,
        content,
        mapping,
        study,
        sheet,
    )
    if checked.result is None:
        st.error(
            f"{md(upload.name)}: {checked.total:,} problem(s) found; nothing can be imported "
            "until they are fixed. Each row below names the row and column in your file."
        )
        st.dataframe(checked.problems, hide_index=True)
        if checked.total > len(checked.problems):
            st.caption(f"Showing the first {len(checked.problems):,} problems.")
    elif checked.result.already_imported:
        st.info(md(checked.result.message()))
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
            done = actions.import_upload(
                principal,
                store,
                upload.name,
                content,
                mapping,
                study=study,
                sheet=sheet,
                progress=lambda f, m: bar.progress(f, m),
            )
            st.success(md(done.message()))

st.subheader("Batches")
batches = store.batches()
if batches.empty:
    st.info("No batches yet.")
else:
    st.dataframe(batch_table(batches), hide_index=True)
    with st.form("remove_batch"):
        chosen = st.selectbox(
            "Remove a batch",
            batches["batch_id"].tolist(),
            format_func=lambda b: f"{b}: {batches.set_index('batch_id').at[b, 'source_name']}",
        )
        sure = st.checkbox("Yes, remove this batch and all its observations")
        if st.form_submit_button("Remove batch") and sure:
            removed = actions.remove_batch(principal, store, int(chosen))
            st.toast(f"Removed batch {chosen} ({removed:,} observations).")
            st.rerun()
