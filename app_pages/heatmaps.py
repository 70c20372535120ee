"""Journey heatmaps: where customers are delighted and where they are disappointed."""

import pandas as pd
import streamlit as st

from cxdata.analysis.outcomes import DEFINITIONS as OUTCOME_DEFINITIONS
from cxdata.analysis.scoring import DEFINITIONS, cell_observations, headline
from cxdata.app import actions, data, signin, views, widgets
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.charts import OKABE_ITO
from cxdata.display.downloads import caption_text
from cxdata.display.headline import headline_metrics
from cxdata.display.outcome_tables import interval_text, kpi_label, kpi_text, outcome_table
from cxdata.display.tables import default_segment

principal = signin.guard(Action.VIEW_HEATMAPS)
store = data.store()
cfg = store.settings
db, version = str(store.path), data.data_version()
filters = widgets.current_filters()

st.title("Journey heatmaps")
st.caption(f"Filters: {md(filters.describe())}")
overall = data.scores(db, version, (), filters)
if overall.empty:
    st.info("No observations match the filters.")
    st.stop()

counts = data.totals(db, version, filters)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Observations", f"{counts['observations']:,}")
c2.metric("Customers", f"{counts['customers']:,}")
head = headline(overall, cfg)
for column, m in zip(
    (c3, c4),
    headline_metrics(head, cfg.delight_threshold, cfg.disappointment_threshold),
    strict=True,
):
    column.metric(m.label, m.value, m.delta, delta_color=m.delta_color)  # type: ignore[arg-type]
kpis = data.outcomes(db, version, None, filters)
if not kpis.empty:
    kpi_columns = st.columns(min(len(kpis), 4))
    for i, kpi in enumerate(kpis.to_dict("records")):
        kpi_columns[i % len(kpi_columns)].metric(
            md(kpi_label(kpi)), kpi_text(kpi), help=md(interval_text(kpi))
        )
    st.caption(
        "Outcomes: "
        + "; ".join(md(f"{kpi_label(k)} {interval_text(k)}") for k in kpis.to_dict("records"))
    )

stages = list(overall["stage"])
model, stale = data.personas(db, version)
if model is not None and stale:
    st.warning(
        f"The persona model ({model.model_id}) is older than the data: batches were added or "
        "removed since it was fitted, so new customers have no persona yet."
    )
    if principal.can(Action.FIT_PERSONAS) and st.button(
        "Find personas again", key="heatmap_refit", help="A new model with the same settings"
    ):
        bar = st.progress(0.0, "Finding personas…")
        found = actions.fit_personas(
            principal,
            store,
            data.persona_settings(model),
            progress=lambda f, m: bar.progress(min(f, 1.0), m),
        )
        bar.empty()
        st.session_state["heatmap_flash"] = f"Found {found.k} personas (model {found.model_id})."
        st.rerun()
if flash := st.session_state.pop("heatmap_flash", None):
    st.success(flash)
segments = data.segment_choices(db, version)
opts = data.options(db, version)
value_counts = {n: len(v) for n, v in {**opts.attributes, **opts.columns}.items()}
segment = st.selectbox(
    "Segment customers by",
    segments,
    key="heatmap_segment",
    index=default_segment(segments, value_counts),
)
views.report_downloads(filters, segment)
by_segment = data.scores(db, version, (segment,), filters)
by_touchpoint = data.scores(db, version, ("touchpoint",), filters)
thresholds = (cfg.delight_threshold, cfg.disappointment_threshold)

label = segment.replace("_", " ")


caption = caption_text(
    filters.describe(),
    f"n = {counts['customers']:,} customers, {counts['observations']:,} observations",
)


def show(view: views.ChartView, table: pd.DataFrame, by: str, name: str) -> None:
    """A heatmap, its caption and downloads, and the observations behind a clicked cell."""
    event = views.show_chart(view, key=name, selectable=True)
    views.downloads(view.chart, table, name, caption)
    for cell in views.selected_cells(event):
        st.markdown(
            f"**Observations behind {md(cell['stage'])} × {md(cell['row'])}** "
            "(most negative first; click the cell again to close)"
        )
        rows = cell_observations(data.engine(), filters, cell["stage"], by, cell["row"])
        st.dataframe(rows, hide_index=True)


journey = tuple(stages)
title = f"Which stages delight or disappoint which {label}?"
chart = views.heatmap_chart(db, version, segment, filters, label, title, thresholds, journey)
show(chart, by_segment, segment, f"heatmap_stage_by_{segment}")
by_outcome = data.outcomes(db, version, segment, filters)
if not by_outcome.empty:
    st.subheader(f"Outcomes by {md(label)}")
    st.dataframe(outcome_table(by_outcome, segment), hide_index=True)
    st.caption(
        "n: customers with an answer (each counts once per group); “(unknown)”: customers "
        f"without a {md(label)} value. Rates with Wilson, NPS with adjusted-Wald, means with "
        "t intervals (95%); see “How outcome KPIs are computed” below."
    )
curve_title = f"How does the experience evolve along the journey, by {label}?"
curve = views.emotion_curve_chart(db, version, segment, filters, journey, curve_title)
views.show_chart(curve)
if by_segment[segment].nunique() > len(OKABE_ITO):
    st.caption(
        f"{by_segment[segment].nunique()} lines: the {len(OKABE_ITO) - 1} largest in colour, "
        "the others grey; every line is named in the legend and when you hover it."
    )
views.downloads(curve.chart, by_segment, f"emotion_curve_by_{segment}", caption)

order = data.touchpoint_order(db, version, filters, journey)
title = "Which touchpoints delight or disappoint?"
chart = views.heatmap_chart(
    db, version, "touchpoint", filters, "Touchpoint", title, thresholds, journey, order
)
show(chart, by_touchpoint, "touchpoint", "heatmap_stage_by_touchpoint")

with st.expander("How scores are computed"):
    st.markdown(DEFINITIONS)
    st.markdown(
        f"Current thresholds: delight at net ≥ {cfg.delight_threshold:+g}, disappointment at "
        f"net ≤ {cfg.disappointment_threshold:+g}; cells with fewer than {cfg.min_customers} "
        "customers are faded, dashed and marked “low n”. Colours use a fixed scale from −1 "
        "(everyone disappointed, red) to +1 (everyone delighted, blue)."
    )

with st.expander("How outcome KPIs are computed"):
    st.markdown(OUTCOME_DEFINITIONS)
