"""Priorities: which stages or touchpoints to fix first, and the moments of truth."""

import numpy as np
import streamlit as st

from cxdata.analysis.priorities import DEFINITIONS, resplit
from cxdata.app import data, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.downloads import caption_text, n_range
from cxdata.display.priority_charts import QUADRANT_STYLE, moments_chart, priority_matrix

signin.guard(Action.VIEW_PRIORITIES)
store = data.store()
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()

st.title("Priorities: what to fix first")
st.caption(f"Filters: {md(filters.describe())}")
choices = data.priority_outcomes(db, version)
if not choices:
    st.info(
        "Priorities need an outcome per customer (NPS, satisfaction, repurchase…) or a customer "
        "attribute; this store has none. Import a file with such a column."
    )
    st.stop()

names = list(choices)
c1, c2, c3 = st.columns([2, 2, 3])
outcome = c1.selectbox(
    "Outcome", names, index=names.index("nps") if "nps" in names else 0, key="priorities_outcome"
)
level = c2.radio(
    "Look at",
    ["stage", "touchpoint"],
    format_func=lambda v: f"{v.capitalize()}s",
    horizontal=True,
    key="priorities_level",
)
positive = None
if choices[outcome]:
    positive = c3.selectbox(
        f"Good outcome: {outcome} is", choices[outcome], key=f"priorities_positive_{outcome}"
    )
split = st.radio(
    "Split importance at",
    ["mean", "median"],
    format_func=lambda v: "the mean weight (1 / number of items)" if v == "mean" else "the median",
    horizontal=True,
    key="priorities_split",
)
table = data.priority_table(db, version, outcome, positive, level, filters)
if table.empty:
    st.info("No observations match the filters.")
    st.stop()
table = resplit(table, split)
st.markdown(md(table.attrs["method"]))

labels = {k: v[0] for k, v in QUADRANT_STYLE.items()}
focus = table[table["quadrant"] == "concentrate_here"]
m1, m2, m3 = st.columns(3)
if focus.empty:
    m1.metric(
        "Fix first",
        "nothing urgent",
        f"no important {level} under-performs",
        delta_color="off",
        delta_arrow="off",
    )
else:
    first = focus.iloc[0]
    m1.metric(
        "Fix first",
        first[level],
        f"weight {first['importance']:.3f}, performance {first['performance']:+.2f}",
        delta_color="off",
        delta_arrow="off",
    )
m2.metric("Concentrate here", f"{len(focus)} of {len(table)} {level}s")

matrix = priority_matrix(
    table,
    level,
    table.attrs["importance_threshold"],
    table.attrs["performance_threshold"],
    f"Where to act first? Importance for {outcome} against performance, by {level}",
)
st.altair_chart(matrix, width="content")
hidden = table.loc[~table["shown_to_matter"].astype(bool) & table["importance"].notna(), level]
st.caption(
    f"Dashed lines: importance {table.attrs['importance_threshold']:.3f} (the {split} relative "
    f"weight) and performance {table.attrs['performance_threshold']:+.2f} (the mean). "
    f"Whiskers: 95% bootstrap intervals. {table.attrs['r2_name']} of the model: "
    f"{table.attrs['r2']:.2f}, of which {table.attrs['pattern_weight']:.3f} is carried by which "
    f"items were rated and {table.attrs['reference_weight']:.4f} by the random reference item. "
    f"{md(table.attrs['missing'])} Weights have no sign: the correlation column gives the "
    "direction, and a stage with a negative one is never in concentrate here. Names that "
    "would overlap are left out: hover a point, or see the list below."
)
if len(hidden):
    st.markdown(
        f"**Not shown to matter** (weight not above the random reference item): "
        f"{', '.join(md(h) for h in hidden)}. They are never in “Concentrate here”."
    )
good = f"{outcome} = {positive}" if positive else outcome
views.downloads(
    matrix,
    table,
    f"priorities_by_{level}",
    caption_text(f"{filters.describe()}; outcome {good}", n_range(table["n"])),
)

st.subheader("Fix-first list")
shown = table.assign(quadrant=table["quadrant"].map(labels).fillna(table["quadrant"]))
shown["matters"] = np.where(shown["shown_to_matter"], "shown to matter", "not shown to matter")
columns = ["rank", level, *(["stage"] if level != "stage" else []), "importance",
           "importance_ci_low", "importance_ci_high", "matters", "correlation",
           "performance", "quadrant", "n", "n_outcome", "low_n"]  # fmt: skip
st.dataframe(
    shown[columns],
    hide_index=True,
    column_config={
        "rank": st.column_config.NumberColumn("Rank", help="1 = fix first"),
        level: level.capitalize(),
        "stage": "Stage",
        "importance": st.column_config.NumberColumn("Importance (relative weight)", format="%.3f"),
        "importance_ci_low": st.column_config.NumberColumn("95% CI from", format="%.3f"),
        "importance_ci_high": st.column_config.NumberColumn("95% CI to", format="%.3f"),
        "matters": "Verdict",
        "correlation": st.column_config.NumberColumn("Spearman ρ", format="%+.2f"),
        "n_outcome": st.column_config.NumberColumn("With outcome", format="%d"),
        "performance": st.column_config.NumberColumn("Performance", format="%+.2f"),
        "quadrant": "Quadrant",
        "n": st.column_config.NumberColumn("Customers", format="%d"),
        "low_n": st.column_config.CheckboxColumn("Low n"),
    },
)

st.subheader("Moments of truth")
moments = None
if table.attrs["scale"] == "numeric":
    st.info(
        f"{md(outcome)} is neither yes/no nor a 0-10 answer; moments of truth need a bad "
        "outcome: choose such an outcome, or an attribute and the value that counts as good."
    )
else:
    moments = data.moments_table(db, version, outcome, positive, level, filters)
if moments is not None and not moments.empty:
    found = list(moments.loc[moments["moment_of_truth"], level])
    m3.metric(
        "Moments of truth",
        len(found),
        ", ".join(found) or "none",
        delta_color="off",
        delta_arrow="off",
    )
    st.markdown(
        f"Bad outcome: **{md(moments.attrs['bad'])}**. "
        + (
            f"Moments of truth: **{', '.join(md(f) for f in found)}** — a disappointing "
            "experience there "
            "clearly raises the risk."
            if found
            else "No stage or touchpoint clearly raises the risk."
        )
    )
    chart = moments_chart(
        moments,
        level,
        f"Where does a disappointment make a bad {outcome} more likely? By {level}",
    )
    st.altair_chart(chart, width="content")
    n = n_range(moments["n_disappointed"] + moments["n_other"])
    views.downloads(
        chart,
        moments,
        f"moments_of_truth_by_{level}",
        caption_text(f"{filters.describe()}; bad outcome {moments.attrs['bad']}", n),
    )
    with st.expander("Moments of truth as a table"):
        titles = {"risk_disappointed": "Risk if disappointed", "risk_other": "Risk otherwise",
                  "risk_difference": "Difference", "ci_low": "95% CI from",
                  "ci_high": "95% CI to"}  # fmt: skip
        config = {c: st.column_config.NumberColumn(t, format="percent") for c, t in titles.items()}
        config |= {"n_disappointed": "Disappointed (n)", "n_other": "Others (n)",
                   "moment_of_truth": "Moment of truth", level: level.capitalize()}  # fmt: skip
        st.dataframe(moments[[level, *titles, "n_disappointed", "n_other", "moment_of_truth"]],
                     hide_index=True, column_config=config)  # fmt: skip

with st.expander("How priorities are computed"):
    st.markdown(DEFINITIONS)
