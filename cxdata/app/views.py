"""Charts and downloads as the pages show them: each chart built and converted to its
Vega-Lite spec once per data version and filters, downloads only for roles that may
export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import altair as alt
import pandas as pd
import streamlit as st

from cxdata.analysis.filters import Filters
from cxdata.app import actions, data, signin
from cxdata.app.auth import Action
from cxdata.app.text import md
from cxdata.display.charts import emotion_curve, heatmap
from cxdata.display.downloads import captioned


def selected_cells(event: object) -> list[dict[str, str]]:
    """Cells picked in a heatmap (Altair point selection named `cell`)."""
    selection = getattr(event, "selection", None) or {}
    return [c for c in selection.get("cell", []) if "stage" in c and "row" in c]


def downloads(chart: alt.TopLevelMixin, table: pd.DataFrame, name: str, caption: str) -> None:
    """The chart's caption (filters and n), then for roles that may export: the data as CSV
    (formula-safe), the chart as SVG and PNG with the caption inside it (subtitle); files
    are made only when a button is clicked (so reruns stay fast), and the role is checked
    again then."""
    st.caption(md(caption))
    if not signin.principal().can(Action.EXPORT):
        return
    who = signin.principal_when_called()
    picture = captioned(chart, caption)
    c1, c2, c3, _ = st.columns([1, 1, 1, 3])
    buttons = [
        (c1, "Data (CSV)", lambda: actions.export_csv(who(), table), "csv", "text/csv"),
        (c2, "Chart (SVG)", lambda: actions.export_svg(who(), picture), "svg", "image/svg+xml"),
        (c3, "Chart (PNG)", lambda: actions.export_png(who(), picture), "png", "image/png"),
    ]
    for column, label, make, ext, mime in buttons:
        column.download_button(
            label, make, f"{name}.{ext}", mime, key=f"{name}_{ext}", on_click="ignore"
        )


def report_downloads(filters: Filters, segment: str) -> None:
    """ "Download report" as PDF and HTML over the page's filters and segment, for roles
    that may export; made only when clicked (a few seconds), the role checked again then."""
    if not signin.principal().can(Action.EXPORT):
        return
    who = signin.principal_when_called()
    s = data.store()

    def make(fmt: str) -> Callable[[], bytes]:
        return lambda: actions.export_report(who(), data.engine(), s, fmt, filters, segment)

    from cxdata.report.render import pdf_problem

    formats = [("pdf", "application/pdf"), ("html", "text/html")]
    if problem := pdf_problem():  # no pango on this machine: the HTML report only
        formats = formats[1:]
        st.caption(md(problem))
    columns = st.columns([2, 2, 3])  # room for the whole label
    for column, (fmt, mime) in zip(columns, formats, strict=False):
        column.download_button(
            f"Download report ({fmt.upper()})",
            make(fmt),
            f"cxdata_report_{segment}.{fmt}",
            mime,
            key=f"report_{fmt}",
            on_click="ignore",
            type="primary" if fmt == "pdf" else "secondary",
        )


def csv_download(label: str, table: Callable[[], pd.DataFrame], file_name: str, key: str) -> None:
    """One CSV download button (formula-safe), shown only to roles that may export (the
    role is checked again when it is clicked)."""
    if signin.principal().can(Action.EXPORT):
        who = signin.principal_when_called()
        st.download_button(label, lambda: actions.export_csv(who(), table()), file_name,
                           "text/csv", key=key, on_click="ignore")  # fmt: skip


@dataclass(frozen=True)
class ChartView:
    """A chart as the page shows it: the Altair chart (for the SVG and PNG downloads) and
    the Vega-Lite spec `st.altair_chart` would make of it, converted once. Converting
    (`to_dict` with jsonschema validation, data to Arrow) costs ~45 ms per heatmap, far
    more than the cached query behind it."""

    chart: alt.TopLevelMixin
    spec: dict[str, Any]


def chart_view(chart: alt.TopLevelMixin) -> ChartView:
    # Streamlit's own conversion (theme, Arrow datasets, thread-safe Altair globals), so
    # `show_chart` sends exactly what `st.altair_chart(chart)` would.
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    return ChartView(chart, _convert_altair_to_vega_lite_spec(cast("alt.Chart", chart)))


def show_chart(view: ChartView, key: str | None = None, selectable: bool = False) -> Any:
    """Render a cached chart; with `selectable`, clicks rerun the page and the returned
    event holds the selection (as `st.altair_chart(..., on_select="rerun")`)."""
    if selectable:
        return st.vega_lite_chart(view.spec, on_select="rerun", key=key)
    return st.vega_lite_chart(view.spec, key=key)


@st.cache_resource(show_spinner=False, max_entries=32)
def heatmap_chart(
    db_path: str,
    version: str,
    by: str,
    filters: Filters,
    row_title: str,
    title: str,
    thresholds: tuple[float, float],
    stages: tuple[str, ...],
    row_order: tuple[str, ...] | None = None,
) -> ChartView:
    """The heatmap of `scores(..., (by,), filters)`, built and converted once per data
    version, filters and titles (cache_resource: the same object on every rerun)."""
    scores = data.scores(db_path, version, (by,), filters)
    return chart_view(
        heatmap(scores, by, row_title, list(stages), title, *thresholds,
                list(row_order) if row_order else None)
    )  # fmt: skip


@st.cache_resource(show_spinner=False, max_entries=32)
def emotion_curve_chart(
    db_path: str, version: str, by: str, filters: Filters, stages: tuple[str, ...], title: str
) -> ChartView:
    scores = data.scores(db_path, version, (by,), filters)
    return chart_view(emotion_curve(scores, by, list(stages), title))
