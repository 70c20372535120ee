"""Compare segments: where two groups of customers differ, by how much, and how sure."""

import streamlit as st

from cxdata.analysis.compare import METHOD, summary
from cxdata.analysis.order import levels_in_journey_order
from cxdata.app import data, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.charts import difference_chart
from cxdata.display.downloads import caption_text, n_range

signin.guard(Action.COMPARE)
store = data.store()
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()

st.title("Compare segments")
st.caption(
    f"Filters: {md(filters.describe())}. Differences of mean customer scores (A − B), tested with "
    "Welch's t-test; intervals adjusted for picking the significant rows out of all rows "
    "tested (see How this is computed). Cells with fewer than "
    f"{store.settings.min_customers} customers on a side are not tested."
)
with st.expander("How this is computed"):
    st.markdown(METHOD)  # a constant of cxdata, not data: no user text reaches Markdown here
left, right = st.columns(2)
with left:
    a, a_label = widgets.segment_picker("a", "Segment A", allow_rest=False)
with right:
    b, b_label = widgets.segment_picker("b", "Segment B", allow_rest=True)
level = st.radio("Compare by", ["stage", "touchpoint"], horizontal=True, key="compare_level")

if a is None or b is None:
    st.info("Choose both segments.")
    st.stop()
table = data.comparison(db, version, a, b, level, filters)
if table.empty:
    st.warning("No customers match these segments and filters.")
    st.stop()
st.markdown(f"**{md(summary(table, a_label, b_label, level))}**")
unknown = int(table.attrs.get("n_unknown", 0))
st.caption(
    f"Left out as unknown: {unknown:,} customers (n_unknown: their value for a column that "
    "decides the segments is missing). "
    + ("Everyone else includes the customers whose value is unknown." if b.include_unknown
       else "Everyone else means customers known not to be in A." if b.rest else "")
)  # fmt: skip
order = levels_in_journey_order(table, level, store.stage_order())
chart = difference_chart(table, level, order, f"Where do {a_label} and {b_label} differ?")
st.altair_chart(chart)
n = f"A: {n_range(table['n_a'])}; B: {n_range(table['n_b'])}" if len(table) else "n = 0 customers"
chart_caption = caption_text(f"{filters.describe()}; A = {a_label}; B = {b_label}", n)
views.downloads(chart, table, f"comparison_by_{level}", chart_caption)
tested = table[table["tested"].astype(bool)]
if len(tested):
    st.caption(
        f"Whiskers and ci_low/ci_high: {100 * tested['ci_level'].iloc[0]:.4g}% intervals, "
        f"adjusted for selecting {int(tested['significant'].sum())} of {len(tested)} "
        f"{level}s (Benjamini-Yekutieli); a whisker clears zero exactly when the {level} is "
        "significant. ci95_low/ci95_high: each row's unadjusted 95% interval."
    )
st.dataframe(table, hide_index=True)
