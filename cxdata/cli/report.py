"""`cxdata report`: the executive report as one PDF or one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from cxdata.cli.common import (
    command,
    engine_options,
    filters_of,
    open_engine,
    open_store,
    where_option,
)

REPORT_HELP = """\
Page 1: observations, customers, the most delighting and most disappointing stage, the
stage x segment heatmap and the fix-first list; then the emotion curve with each segment's
significant differences against everyone else, the priority matrix, one card per persona
and a methods page (definitions, thresholds, n, filters, data fingerprint, persona model).
Every number comes from the functions behind `cxdata scores`, `priorities` and `outcomes`.
The HTML loads nothing from elsewhere (charts are inline SVG); the PDF is that HTML laid
out by WeasyPrint."""


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "report", "The executive report as PDF or self-contained HTML.")
    p.epilog = REPORT_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.html")
    where_option(p)
    p.add_argument("--segment", help="persona (default when a model exists) or an attribute")
    p.add_argument("--outcome", help="Outcome of the fix-first list (default: nps, else the "
                   "first outcome)")  # fmt: skip
    p.add_argument("--positive", help="Value of --outcome that counts as good, e.g. yes")
    engine_options(p)
    p.set_defaults(run=report)


def report(args: argparse.Namespace) -> int:
    from cxdata.engine import DuckDBEngine
    from cxdata.report import write_report

    engine = open_engine(args)
    store = engine.store if isinstance(engine, DuckDBEngine) else open_store(args)
    content = write_report(engine, store, args.out, filters_of(engine, args), args.segment,
                           args.outcome, args.positive)  # fmt: skip
    t = content.timings
    split = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in t.items())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes; {split})")
    return 0
