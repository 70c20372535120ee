"""The executive report: its PDF's text (pdftotext) carries the CLI's own figures, the HTML
is one file that loads nothing from elsewhere, and bad requests are usage errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cxdata.cli import main
from cxdata.config import Settings
from cxdata.display.priority_charts import QUADRANT_STYLE
from cxdata.personas.discovery import discover
from cxdata.personas.models import fingerprint, latest_model, rename
from cxdata.sample.load import load_sample
from cxdata.store import Store

QUADRANTS = {k: v[0] for k, v in QUADRANT_STYLE.items()}


def _pdf_tools_missing() -> str | None:
    """Why PDFs cannot be made and read here (WeasyPrint's pango, poppler's pdftotext)."""
    from cxdata.report.render import pdf_problem

    if shutil.which("pdftotext") is None:
        return "needs poppler-utils (pdftotext): apt-get install -y poppler-utils"
    return pdf_problem()


if (_missing := _pdf_tools_missing()) and os.environ.get("CI"):
    raise RuntimeError(f"CI must install what the PDF report needs (see .ci/run): {_missing}")
needs_pdf = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """The sample data with a persona model (built once for the module)."""
    path = tmp_path_factory.mktemp("report") / "cx.duckdb"
    store = Store.open(Settings(), path)
    load_sample(store)
    discover(store)
    return path


def _cli(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def _json(capsys, *args: str) -> object:
    return json.loads(_cli(capsys, *args))


def _pdf_text(path: Path, page: int | None = None) -> str:
    """The PDF's text as laid out (a table row stays one line), one space between words."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in text.splitlines())


@needs_pdf
def test_the_pdf_carries_the_cli_figures(db, tmp_path, capsys):
    out = tmp_path / "report.pdf"
    printed = _cli(capsys, "report", "--db", str(db), "--out", str(out))
    assert printed.startswith(f"wrote {out} (") and "pdf " in printed
    assert out.read_bytes().startswith(b"%PDF")
    text = _pdf_text(out)

    first = _pdf_text(out, 1).split()  # the headline figures: label boxes side by side
    stats = _json(capsys, "stats", "--db", str(db), "--json")
    assert f"{stats['observations']:,}" in first and f"{stats['customers']:,}" in first

    stages = _json(capsys, "scores", "--db", str(db), "--by", "stage", "--format", "json")
    best = max(stages, key=lambda r: r["net_experience"])
    worst = min(stages, key=lambda r: r["net_experience"])
    page1 = " ".join(first)
    assert f"{best['stage']} {worst['stage']}" in page1  # most delighting, most disappointing
    assert f"{best['net_experience']:+.2f} net {worst['net_experience']:+.2f} net" in page1

    cells = _json(capsys, "scores", "--db", str(db), "--by", "stage,persona", "--format", "json")
    model = latest_model(Store.open(Settings(), db))
    assert model is not None
    for profile in model.profiles:  # the heatmap's row of each persona, in journey order
        row = [c for c in cells if c["persona"] == profile["name"]]
        order = {s["stage"]: i for i, s in enumerate(stages)}
        nets = " ".join(f"{c['net_experience']:+.2f}" for c in
                        sorted(row, key=lambda c: order[c["stage"]]))  # fmt: skip
        assert nets.replace("-", "−") in text.replace("-", "−"), profile["name"]
        assert f"Persona {profile['persona']} · {profile['size']:,} customers" in text

    fix = _json(capsys, "priorities", "--db", str(db), "--outcome", "nps", "--json")
    for r in sorted(fix, key=lambda r: r["rank"]):
        line = (f"{r['rank']} {r['stage']} {QUADRANTS[r['quadrant']]} {r['importance']:.3f} "
                f"{r['performance']:+.2f} {r['n']:,}")  # fmt: skip
        assert line in text.splitlines(), line

    trend = _json(capsys, "trends", "--db", str(db), "--period", "observed_quarter", "--json")
    quarters = sorted({r["observed_quarter"] for r in trend} - {"(none)"})
    assert len(quarters) >= 2  # the sample spans quarters of one year: the report's default
    moves = _cli(capsys, "trends", "--db", str(db), "--period", "observed_quarter",
                 "--from", quarters[0], "--to", quarters[-1])  # fmt: skip
    said = [line for line in moves.splitlines() if " between " in line]
    assert len(said) == 6
    for sentence in said:
        assert f"• {sentence}" in text.splitlines(), sentence

    kpis = _json(capsys, "outcomes", "--db", str(db), "--json")
    nps = next(k for k in kpis if k["outcome"] == "nps")
    assert f"nps (NPS) {nps['value']:+.0f} (95% CI {nps['ci_low']:+.0f} to " in text
    assert f"Data fingerprint {fingerprint(Store.open(Settings(), db))}" in text
    assert "Methods" in text and f"model {model.model_id}, fitted" in text


@needs_pdf
def test_filters_reach_every_figure(db, tmp_path, capsys):
    out = tmp_path / "retail.pdf"
    where = "study=Retail store visits"
    _cli(capsys, "report", "--db", str(db), "--out", str(out), "--where", where,
         "--segment", "loyalty_tier")  # fmt: skip
    text = _pdf_text(out)
    store = Store.open(Settings(), db)
    retail = store.query_df(
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS c FROM observations "
        "WHERE study = 'Retail store visits'"
    ).iloc[0]
    first = _pdf_text(out, 1).split()
    assert f"{retail.n:,}" in first and f"{retail.c:,}" in first
    assert f"Filters: {where}" in text
    assert "Which stages delight or disappoint which loyalty tier?" in text


class _Resources(HTMLParser):
    """Every src/href attribute and url(...) in the document."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "srcset")]
        self.found += [f"<{tag}>"] if tag in ("script", "link", "iframe", "img") else []


def test_the_html_is_one_file_that_loads_nothing(db, tmp_path, capsys):
    out = tmp_path / "report.html"
    _cli(capsys, "report", "--db", str(db), "--out", str(out))
    html = out.read_text()
    parser = _Resources()
    parser.feed(html)
    assert [r for r in parser.found if not r.startswith("#")] == []  # in-document only
    targets = re.findall(r"url\(\s*['\"]?([^)'\"]*)", html)
    assert targets and all(t.startswith("#") for t in targets), targets  # SVG gradients
    assert "@import" not in html and not re.search(r"https?://(?!www\.w3\.org/)", html)
    assert html.count("<svg") >= 3  # heatmap, emotion curve, priority matrix: inline
    assert "<script" not in html


def test_a_value_from_a_file_stays_text_in_the_html(db, tmp_path, capsys):
    hostile = '<img src="http://evil.example/x.png">'
    store = Store.open(Settings(), db)
    model = latest_model(store)
    assert model is not None
    rename(store, model.model_id, 1, hostile)
    try:
        out = tmp_path / "report.html"
        _cli(capsys, "report", "--db", str(db), "--out", str(out))
        html = out.read_text()
        assert hostile not in html and "&lt;img src=" in html
    finally:
        rename(store, model.model_id, 1, model.profiles[0]["name"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "x.docx"], "the report is written as .pdf or .html, not x.docx"),
        (["--out", "x.pdf", "--segment", "nosuch"], 'cannot group by "nosuch"'),
        (["--out", "x.pdf", "--outcome", "nosuch"], "unknown outcome nosuch"),
    ],
)
def test_bad_requests_are_usage_errors(db, tmp_path, capsys, args, message):
    args = [a if not a.startswith("x.") else str(tmp_path / a) for a in args]
    assert main(["report", "--db", str(db), *args]) == 2
    assert message in capsys.readouterr().err


def test_the_page_report_is_made_only_for_roles_that_may_export(db):
    from cxdata.analysis.filters import NO_FILTERS
    from cxdata.app import actions
    from cxdata.app.auth import LOCAL, Action, PermissionDenied, Principal, Role
    from cxdata.engine import DuckDBEngine

    store = Store.open(Settings(), db)
    for role in Role:
        who = Principal(f"{role.label}@example.org", role, team_mode=True)
        if who.can(Action.EXPORT):
            continue
        with pytest.raises(PermissionDenied, match="may not export"):
            actions.export_report(who, DuckDBEngine(store), store, "html", NO_FILTERS)
    html = actions.export_report(LOCAL, DuckDBEngine(store), store, "html", NO_FILTERS, "region")
    assert html.startswith(b"<!DOCTYPE html>") and b"which region?" in html


def test_without_pango_the_pdf_is_refused_with_what_to_install_and_html_still_works(
    db, tmp_path, capsys, monkeypatch
):
    from cxdata.report import render

    def no_pango() -> str:
        return "The PDF report needs WeasyPrint's system libraries (pango): apt-get install ..."

    monkeypatch.setattr(render, "pdf_problem", no_pango)
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r.pdf")]) == 1
    assert "needs WeasyPrint's system libraries (pango)" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_without_pango_the_heatmap_page_offers_the_html_report_only(db, monkeypatch):
    from cxdata.report import render
    from tests.conftest import ROOT, start_app

    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(render, "pdf_problem", lambda: "The PDF report needs pango here.")
    at = start_app("app_pages/heatmaps.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download report (HTML)" in labels and "Download report (PDF)" not in labels
    assert any("needs pango here" in c.value for c in at.caption)
