"""Data overview: what is in the store, where it was observed, the newest batches."""

import streamlit as st

from cxdata import ui, ui_charts, ui_signin
from cxdata.auth import Action
from cxdata.charts import observations_by_stage
from cxdata.tables import batch_table

ui_signin.guard(Action.VIEW_OVERVIEW)
store = ui.store()
version = ui.data_version()
stats = store.stats()

st.title("Data overview")
counts = ui.counts(str(store.path), version)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Observations", f"{stats['observations']:,}")
c2.metric("Customers", f"{stats['customers']:,}")
c3.metric("Studies", f"{counts['study'].nunique():,}")
c4.metric("Batches", f"{stats['batches']:,}")

if counts.empty:
    st.info("The store is empty. Import a file on the Upload page.")
else:
    st.caption("Journey stages in order: " + " → ".join(stats["stages"]))
    st.altair_chart(observations_by_stage(counts, stats["stages"]))
    ui_charts.csv_download(
        "Download these counts (CSV)",
        lambda: counts.drop(columns="stage_position"),
        "observation_counts.csv",
        key="overview_counts_csv",
    )

st.subheader("Newest batches")
st.dataframe(batch_table(store.batches().head(10)), hide_index=True)
