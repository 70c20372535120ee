"""Data overview: what is in the store, where it was observed, the newest batches."""

import streamlit as st

from cxdata.app import data, signin, views
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.charts import observations_by_stage
from cxdata.display.downloads import caption_text
from cxdata.display.tables import batch_table

signin.guard(Action.VIEW_OVERVIEW)
store = data.store()
version = data.data_version()
stats = store.stats()

st.title("Data overview")
counts = data.counts(str(store.path), version)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Observations", f"{stats['observations']:,}")
c2.metric("Customers", f"{stats['customers']:,}")
c3.metric("Studies", f"{counts['study'].nunique():,}")
c4.metric("Batches", f"{stats['batches']:,}")

if counts.empty:
    st.info("The store is empty. Import a file on the Upload page.")
else:
    st.caption("Journey stages in order: " + " → ".join(md(s) for s in stats["stages"]))
    chart = observations_by_stage(counts, stats["stages"])
    st.altair_chart(chart)
    n = f"n = {stats['customers']:,} customers, {stats['observations']:,} observations"
    views.downloads(chart, counts, "observation_counts", caption_text("none (the whole store)", n))

st.subheader("Newest batches")
st.dataframe(batch_table(store.batches().head(10)), hide_index=True)
