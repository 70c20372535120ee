"""The report as files: charts drawn by the same builders as the pages and turned into
inline SVG by vl-convert, one Jinja2 template, and WeasyPrint for the PDF (it lays out the
same HTML and CSS, so the two never disagree)."""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from cxdata.analysis.order import NONE
from cxdata.analysis.outcomes import DEFINITIONS as OUTCOME_DEFINITIONS
from cxdata.analysis.scoring import DEFINITIONS as SCORE_DEFINITIONS
from cxdata.display.charts import emotion_curve, heatmap
from cxdata.display.downloads import caption_text, chart_svg, n_range
from cxdata.display.headline import headline_metrics
from cxdata.display.outcome_tables import interval_text, kpi_label, kpi_text
from cxdata.display.persona_text import relative_line, typical_lines
from cxdata.display.priority_charts import QUADRANT_STYLE, priority_matrix
from cxdata.display.trend_charts import net_trend_chart
from cxdata.errors import CxError
from cxdata.report.content import ReportContent
from cxdata.report.template import TEMPLATE

FIX_FIRST_ROWS = 8
"""Rows of the fix-first list on page 1 (the CLI's `priorities` has them all)."""


REPORT_FONT = "Liberation Sans"
"""The font charts are measured (vl-convert) and drawn (WeasyPrint) with, so labels fit."""
_GRADIENT_BOX = re.compile(r'<path d="M0,0h([\d.]+)v[\d.]+h-[\d.]+Z" fill="url\(#(gradient_\d+)\)"')


def inline_svg(chart: alt.TopLevelMixin) -> Markup:
    """The chart as an <svg> element that scales to its box (a viewBox from its size), in
    the report's font; a colour legend's gradient is given in user space (WeasyPrint draws
    vl-convert's bounding-box gradient as a sliver)."""
    svg = chart_svg(chart.configure(font=REPORT_FONT)).decode("utf-8")
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    size = re.search(r'<svg[^>]*?width="([\d.]+)"[^>]*?height="([\d.]+)"', svg)
    if size and "viewBox" not in svg[: svg.index(">")]:
        w, h = size.groups()
        svg = svg.replace("<svg", f'<svg viewBox="0 0 {w} {h}"', 1)
    for width, gradient in _GRADIENT_BOX.findall(svg):
        svg = svg.replace(
            f'<linearGradient id="{gradient}" x1="0" x2="1" y1="0" y2="0"',
            f'<linearGradient id="{gradient}" gradientUnits="userSpaceOnUse" x1="0" '
            f'x2="{width}" y1="0" y2="0"',
        )
    return Markup(svg)  # noqa: S704 -- made by vl-convert, which escapes the text it draws


def _figures(c: ReportContent) -> list[dict[str, str]]:
    cfg = c.settings
    figures = [
        {"label": "Observations", "value": f"{c.totals['observations']:,}", "note": ""},
        {"label": "Customers", "value": f"{c.totals['customers']:,}", "note": ""},
    ]
    for m in headline_metrics(c.head, cfg.delight_threshold, cfg.disappointment_threshold):
        figures.append({"label": m.label, "value": m.value, "note": m.delta})
    return figures


def _fix_first(c: ReportContent) -> list[dict[str, str]]:
    if c.fix_first is None:
        return []
    labels = {k: v[0] for k, v in QUADRANT_STYLE.items()}
    table = c.fix_first.sort_values("rank").head(FIX_FIRST_ROWS)
    return [
        {
            "rank": str(int(r["rank"])),
            "stage": str(r["stage"]),
            "quadrant": labels.get(r["quadrant"], str(r["quadrant"])),
            "importance": "n/a" if pd.isna(r["importance"]) else f"{r['importance']:.3f}",
            "performance": f"{r['performance']:+.2f}",
            "n": f"{int(r['n']):,}",
        }
        for r in table.to_dict("records")
    ]


def _cards(c: ReportContent) -> list[dict[str, Any]]:
    if c.model is None:
        return []
    cards = []
    for p in c.model.profiles:
        kpis = c.persona_kpis
        mine = kpis[kpis["persona"].astype(str) == str(p["name"])] if len(kpis) else kpis
        cards.append({
            "name": p["name"], "persona": p["persona"], "size": f"{p['size']:,}",
            "share": f"{p['share']:.0%}",
            "distinguishing": [f"{d['label']}: {d['std_diff']:+.1f} sd" for d in
                               p["distinguishing"]],
            "kpis": [f"{kpi_label(k)}: {kpi_text(k)} ({interval_text(k)})"
                     for k in mine.to_dict("records")],
            # the same lines as the page and the CLI (`cxdata.display.persona_text`)
            "relative": relative_line(p.get("relative", {})),
            "typical": typical_lines(p["typical"]["attributes"])[0],
            "sparse": typical_lines(p["typical"]["attributes"])[1],
        })  # fmt: skip
    return cards


def _facts(c: ReportContent, generated: str) -> list[tuple[str, str]]:
    cfg = c.settings
    model = "none"
    if c.model is not None:
        created = f"{c.model.created_at:%Y-%m-%d %H:%M}" if c.model.created_at is not None else "?"
        model = f"model {c.model.model_id}, fitted {created}, k = {c.model.k}" + (
            " (older than the data)" if c.stale else ""
        )
    return [
        ("Generated", generated),
        ("Filters", c.filters.describe()),
        ("n", f"{c.totals['observations']:,} observations of {c.totals['customers']:,} customers"),
        ("Segment", c.segment),
        ("Thresholds", f"delight at net ≥ {cfg.delight_threshold:+g}, disappointment at net ≤ "
                       f"{cfg.disappointment_threshold:+g}; low n below {cfg.min_customers} "
                       "customers"),
        ("Outcome of the fix-first list", f"{c.outcome}" + (f" = {c.positive}" if c.positive
                                                           else "") if c.outcome else "none"),
        ("Persona model", model),
        ("Data fingerprint", c.fingerprint),
    ]  # fmt: skip


def render_html(c: ReportContent) -> str:
    """The report as one self-contained HTML document (charts inline, no external file)."""
    started = time.perf_counter()
    cfg = c.settings
    label = c.segment.replace("_", " ")
    n = f"n = {c.totals['customers']:,} customers, {c.totals['observations']:,} observations"
    caption = caption_text(c.filters.describe(), n)
    order = [p["name"] for p in c.model.profiles] if c.segment == "persona" and c.model else None
    thresholds = (cfg.delight_threshold, cfg.disappointment_threshold)
    title = f"Which stages delight or disappoint which {label}?"
    charts = {
        # no row axis title: the chart's title names the rows (a rotated title overlapped
        # long row labels in the PDF)
        "heatmap": inline_svg(heatmap(c.by_segment, c.segment, "", c.stages, title,
                                      *thresholds, order)),
        "curve": inline_svg(emotion_curve(c.by_segment, c.segment, c.stages,
                                          f"How does the experience evolve, by {label}?")),
        "matrix": None,
        "trend": None,
    }  # fmt: skip
    matrix_caption = ""
    if c.fix_first is not None and c.fix_first["importance"].notna().any():
        t = c.fix_first
        charts["matrix"] = inline_svg(priority_matrix(
            t, "stage", t.attrs["importance_threshold"], t.attrs["performance_threshold"],
            f"Importance for {c.outcome} against performance, by stage"))  # fmt: skip
        matrix_caption = (
            f"Importance: relative weight in a model of {c.outcome}, dashed at "
            f"{t.attrs['importance_threshold']:.3f}; performance: mean customer stage score, "
            f"dashed at {t.attrs['performance_threshold']:+.2f}. "
            + caption_text(c.filters.describe(), f"n = {int(t['n'].min()):,}–"
                           f"{int(t['n'].max()):,} customers per stage")
        )  # fmt: skip
    trend_caption = ""
    if len(c.trend_periods) >= 2:
        name = c.period.replace("observed_", "")
        timed = c.trend[c.trend[c.period] != NONE]
        charts["trend"] = inline_svg(net_trend_chart(
            c.trend, c.period, c.stages, c.trend_periods,
            f"How has each stage changed, by {name}?"))  # fmt: skip
        trend_caption = caption_text(c.filters.describe(), n_range(timed["n_customers"])) + (
            f". Net experience per stage and {name} with 95% intervals; hollow points: fewer "
            f"than {cfg.min_customers} customers."
        )
    charts_s = time.perf_counter() - started
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kpis = "; ".join(f"{kpi_label(k)} {kpi_text(k)} ({interval_text(k)})"
                     for k in c.overall_kpis.to_dict("records"))  # fmt: skip
    env = Environment(autoescape=True)
    html = env.from_string(TEMPLATE).render(
        title="Customer experience: executive report",
        footer=f"cxdata · data {c.fingerprint[:12]}",
        filters=c.filters.describe(), segment_label=label, generated=generated,
        figures=_figures(c), overall_kpis=kpis, caption=caption, min_customers=cfg.min_customers,
        stale=c.stale, outcome=c.outcome, fix_first=_fix_first(c), no_fix_first=c.no_fix_first,
        fix_first_note=_fix_first_note(c), matrix_caption=matrix_caption, cards=_cards(c),
        trend_caption=trend_caption, trend_sentences=c.trend_periods and c.trend_sentences,
        trend_span=" to ".join(c.trend_periods[:: max(len(c.trend_periods) - 1, 1)]),
        model_id=c.model.model_id if c.model else None, differences=c.differences,
        no_differences=f"Comparisons are not available for {label}.",
        facts=_facts(c, generated), score_definitions=SCORE_DEFINITIONS.strip(),
        outcome_definitions=OUTCOME_DEFINITIONS.strip(),
        priority_method=c.fix_first.attrs.get("method", "") if c.fix_first is not None else "",
        **charts,
    )  # fmt: skip
    c.timings["charts_s"] = charts_s
    c.timings["html_s"] = time.perf_counter() - started - charts_s
    return html


def _fix_first_note(c: ReportContent) -> str:
    if c.fix_first is None:
        return ""
    total = len(c.fix_first)
    shown = min(total, FIX_FIRST_ROWS)
    return (
        f"The first {shown} of {total} stages by rank (1 = fix first): importance is the "
        "stage's relative weight for the outcome, performance its mean customer score; n = "
        "customers."
    )


class PdfUnavailableError(CxError):
    """This machine cannot lay out a PDF: WeasyPrint's system libraries are missing."""


@functools.cache
def pdf_problem() -> str | None:
    """Why no PDF can be made here, or None. WeasyPrint installs from PyPI but loads the
    system's pango when imported; without it the HTML report still works."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return (
            "The PDF report needs WeasyPrint's system libraries (pango): on Debian or Ubuntu, "
            "apt-get install libpango-1.0-0 libpangoft2-1.0-0. The HTML report works without "
            f"them. ({type(exc).__name__}: {str(exc)[:200]})"
        )
    return None


def render_pdf(html: str, c: ReportContent | None = None) -> bytes:
    """The same HTML laid out by WeasyPrint (no browser, no network: base_url is none)."""
    if problem := pdf_problem():
        raise PdfUnavailableError(problem)
    from weasyprint import HTML  # loads pango on first use

    started = time.perf_counter()
    pdf = HTML(string=html).write_pdf()
    if c is not None:
        c.timings["pdf_s"] = time.perf_counter() - started
    return bytes(pdf or b"")
