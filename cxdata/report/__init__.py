"""The executive report: one HTML template over the numbers the CLI and the pages compute,
as one self-contained HTML file or a PDF (WeasyPrint)."""

from __future__ import annotations

from pathlib import Path

from cxdata.analysis.filters import NO_FILTERS, Filters
from cxdata.engine import Engine
from cxdata.errors import UsageError
from cxdata.report.content import ReportContent, gather
from cxdata.report.render import render_html, render_pdf
from cxdata.store import Store

FORMATS = (".pdf", ".html")

__all__ = ["FORMATS", "ReportContent", "gather", "render_html", "render_pdf", "report_bytes",
           "write_report"]  # fmt: skip


def report_bytes(content: ReportContent, fmt: str) -> bytes:
    """The report in `fmt` ('pdf' or 'html')."""
    html = render_html(content)
    return render_pdf(html, content) if fmt == "pdf" else html.encode("utf-8")


def write_report(
    engine: Engine,
    store: Store,
    out: Path,
    filters: Filters = NO_FILTERS,
    segment: str | None = None,
    outcome: str | None = None,
    positive: str | None = None,
) -> ReportContent:
    """Write the report to `out` (.pdf or .html); returns its content (with timings)."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"the report is written as .pdf or .html, not {out.name}")
    content = gather(engine, store, filters, segment, outcome, positive)
    out.write_bytes(report_bytes(content, suffix[1:]))
    return content
