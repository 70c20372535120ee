"""Trends: how each stage's net experience moved over periods, and whether a change between
two chosen periods is real (the comparison's procedure)."""

import streamlit as st

from cxdata.analysis.order import NONE
from cxdata.analysis.trends import DEFINITIONS, PERIOD_CHOICES, default_period, periods, sentences
from cxdata.app import data, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.downloads import caption_text, n_range
from cxdata.display.outcome_tables import outcome_table
from cxdata.display.trend_charts import change_table, net_trend_chart

signin.guard(Action.VIEW_HEATMAPS)
store = data.store()
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()

st.title("Trends")
st.caption(f"Filters: {md(filters.describe())}")
dates = data.options(db, version).dates
choices = [*PERIOD_CHOICES, "study"]
period = st.selectbox(
    "Period",
    choices,
    index=choices.index(default_period(dates)),
    key="trend_period",
    format_func=lambda p: {"study": "study (waves)"}.get(p, p.replace("observed_", "")),
    help="Month, quarter or year of the observation time, or the studies as waves",
)
trend = data.trend(db, version, period, filters)
if trend.empty:
    st.info("No observations match the filters.")
    st.stop()
stages = list(dict.fromkeys(trend["stage"]))
found = [p for p in periods(trend, period) if p != NONE]
name = period.replace("observed_", "")
chart = net_trend_chart(trend, period, stages, found, f"How has each stage changed, by {name}?")
st.altair_chart(chart)
untimed = trend[trend[period] == NONE]
st.caption(
    "Net experience = delighted share − disappointed share of the customers observed in the "
    "stage and period; whiskers: 95% intervals; hollow points: fewer than "
    f"{store.settings.min_customers} customers."
    + (
        f" Observations without a time ({int(untimed['n_customers'].max()):,} customers at "
        "most per stage) are in the table, not the lines."
        if len(untimed)
        else ""
    )
)
views.downloads(
    chart,
    trend,
    f"trend_by_{period}",
    caption_text(filters.describe(), n_range(trend["n_customers"])),
)

st.subheader("Did it change?")
if len(found) < 2:
    st.info(f"Only one {name} in the data within the filters: nothing to compare.")
else:
    left, right = st.columns(2)
    earlier = left.selectbox("From", found, index=0, key="trend_from")
    later = right.selectbox("To", found, index=len(found) - 1, key="trend_to")
    if earlier == later:
        st.info("Choose two different periods.")
    else:
        result = data.trend_change(db, version, period, earlier, later, filters)
        st.markdown("\n".join(f"- {md(s)}" for s in sentences(result, earlier, later)))
        st.dataframe(change_table(result), hide_index=True)
        level = result["ci_level"].dropna()
        if len(level):
            st.caption(
                f"Adjusted CIs are {100 * float(level.iloc[0]):.4g}% intervals "
                "(Benjamini-Yekutieli), significant exactly when they exclude 0."
            )

by_period = data.outcomes(db, version, period, filters)
if not by_period.empty:
    st.subheader(f"Outcomes by {md(name)}")
    st.dataframe(outcome_table(by_period, period), hide_index=True)
    st.caption("Each customer counts in the period of their last observation.")

with st.expander("How trends are computed"):
    st.markdown(DEFINITIONS)
