"""The executive report at 1M observations: how long `cxdata report` takes, split into
data, charts, HTML and PDF.

    python bench/report_bench.py                    # 1M observations, 2 timed rounds
    python bench/report_bench.py --rows 10000000 --repeat 1

On a private copy of the cached store of bench/scoring_bench.py, with a persona model
fitted first (default settings, not timed: the app fits it once, on the first start).
Peer: nothing comparable -- no library turns these analyses into a report; the time a
user would otherwise spend is copying charts into slides. So the run prints the split
instead: data (the same analysis functions as `cxdata scores`, `priorities`, `outcomes`
and the per-segment comparisons), charts (Altair -> SVG by vl-convert), HTML (Jinja2)
and PDF (WeasyPrint), per round, and the PDF's size and pages.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time

import _common as common
from scoring_bench import generate_store, private_copy

from cxdata.config import Settings
from cxdata.engine import DuckDBEngine
from cxdata.personas.discovery import discover
from cxdata.report import gather, render_html, render_pdf
from cxdata.store import Store


def _pages(pdf: bytes) -> str:
    """The PDF's page count (poppler's pdfinfo), or "?" without it."""
    if shutil.which("pdfinfo") is None:
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    found = re.search(rb"Pages:\s+(\d+)", info)
    return found.group(1).decode() if found else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations")
    parser.add_argument("--repeat", type=int, default=2, help="timed rounds")
    args = parser.parse_args(argv)
    print(common.command_line(__file__, argv))
    path = generate_store(args.rows)
    with private_copy(path) as db:
        store = Store.open(Settings(), db)
        engine = DuckDBEngine(store)
        started = time.perf_counter()
        model = discover(store)
        print(f"persona model fitted first (not timed in the report): {model.k} personas, "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        print(f"{'round':>5} {'data s':>8} {'charts s':>9} {'html s':>7} {'pdf s':>7} "
              f"{'total s':>8}")  # fmt: skip
        for i in range(1, args.repeat + 1):
            started = time.perf_counter()
            content = gather(engine, store)
            html = render_html(content)
            pdf = render_pdf(html, content)
            total = time.perf_counter() - started
            t = content.timings
            print(f"{i:>5} {t['data_s']:>8.1f} {t['charts_s']:>9.1f} {t['html_s']:>7.2f} "
                  f"{t['pdf_s']:>7.1f} {total:>8.1f}")  # fmt: skip
        pages = _pages(pdf)
        print(f"observations {content.totals['observations']:,}, customers "
              f"{content.totals['customers']:,}; PDF {len(pdf):,} bytes, {pages} pages; "
              "peer: nothing comparable (see the docstring)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
