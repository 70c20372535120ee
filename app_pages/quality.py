"""Observation quality: do the observers agree, is one of them biased, where do they differ,
and who observed what."""

import streamlit as st

from cxdata.analysis.agreement import METHOD
from cxdata.app import data, quality, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md

signin.guard(Action.VIEW_QUALITY)
store = data.store()
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()

st.title("Observation quality")
st.caption(
    f"Filters: {md(filters.describe())}. A unit is one customer × stage × touchpoint (× "
    "interaction code); units coded by two or more observers measure agreement and bias, and "
    "count once in every other page (the mean of their observers' values)."
)
with st.expander("How this is computed"):
    st.markdown(METHOD)  # a constant of cxdata, not data
left, right = st.columns(2)
metric = left.radio("Metric", ["interval", "ordinal", "nominal"], horizontal=True,
                    key="quality_metric")  # fmt: skip
by = right.radio("Agreement by", ["stage", "touchpoint"], horizontal=True, key="quality_by")
report = quality.agreement_report(db, version, by, metric, filters)
overall = report.overall

st.subheader("Do the observers agree?")
if not overall["units"]:
    st.info(
        "No unit within these filters was coded by two observers. To measure agreement, let "
        "two observers score the same customer's stage and touchpoint (a calibration subset "
        "of 10% of the sessions is usual) and import both observers' rows."
    )
else:
    cols = st.columns(4)
    cols[0].metric(f"Krippendorff's α ({metric})", f"{overall['alpha']:.2f}")
    cols[1].metric("95% bootstrap interval", f"{overall['ci_low']:.2f} to {overall['ci_high']:.2f}")
    cols[2].metric("Double-coded units", f"{overall['units']:,}",
                   help=f"{overall['values']:,} pairable values")  # fmt: skip
    cols[3].metric("Exact agreement", f"{overall['percent_agreement']:.0%}",
                   help="Share of pairs of values in a unit that are equal")  # fmt: skip
    st.markdown(f"**{md(overall['reading'])}**")
    if overall["ac1_shown"]:
        st.caption(
            f"One value holds {overall['dominant_share']:.0%} of the values, where alpha "
            f"collapses: Gwet's AC1 = {overall['ac1']:.2f}."
        )
    st.dataframe(report.by, hide_index=True)
    views.csv_download("Agreement (CSV)", lambda: report.by, "agreement.csv", key="quality_by_csv")

    st.subheader("Is an observer biased?")
    flagged = report.observers[report.observers["flagged"]]
    if len(flagged):
        names = ", ".join(
            f"{row.observer} ({row.bias:+.2f} points vs the typical observer)"
            for row in flagged.itertuples()
        )
        st.warning(md(f"Scores differ from the other observers': {names}."))
    else:
        st.success("No observer differs from the others beyond chance (after correction).")
    level = report.observers["ci_level"].dropna()
    st.caption(
        "bias: the observer's effect minus the typical (median, reference) observer's, from a "
        "model of unit + observer (negative: harsher); mean_diff: their value minus the other "
        "observers' mean on the same units, descriptive only. ci_low/ci_high: "
        + (f"{100 * level.iloc[0]:.4g}% intervals " if len(level) else "intervals ")
        + "adjusted for testing every observer (Benjamini-Yekutieli); flagged exactly when the "
        "interval excludes 0. Observers without double-coded units are not listed."
    )
    st.dataframe(report.observers, hide_index=True)
    views.csv_download("Observer bias (CSV)", lambda: report.observers, "observer_bias.csv",
                       key="quality_bias_csv")  # fmt: skip

    st.subheader("Where do they disagree most?")
    st.caption("Units by spread (largest minus smallest observer value), with each observer's "
               "value and notes: material for a calibration session.")  # fmt: skip
    shown = quality.disagreement_rows(report.disagreements)
    st.dataframe(shown, hide_index=True)
    views.csv_download("Disagreements (CSV)", lambda: shown, "disagreements.csv",
                       key="quality_disagreements_csv")  # fmt: skip

st.subheader("Who observed what?")
cov = quality.observer_coverage(db, version, filters)
if cov.empty:
    st.info("No observations within these filters.")
else:
    stages = list(dict.fromkeys(cov["stage"]))
    st.caption("Observations (and distinct customers) per observer and stage; an empty cell "
               "is a stage the observer never saw.")  # fmt: skip
    table = cov.pivot_table(index="observer", columns="stage", values="observations",
                            aggfunc="sum").reindex(columns=stages)  # fmt: skip
    customers = cov.pivot_table(index="observer", columns="stage", values="customers",
                                aggfunc="sum").reindex(columns=stages)  # fmt: skip
    cells = table.astype("Int64").astype(str) + " (" + customers.astype("Int64").astype(str) + ")"
    st.dataframe(cells.where(table.notna(), "—"))
    views.csv_download("Coverage (CSV)", lambda: cov, "coverage.csv", key="quality_cov_csv")
