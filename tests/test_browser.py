"""Real browser: `streamlit run` on 127.0.0.1, Debian's Chromium via Playwright; every page is
visited and screenshotted (screenshots/), a file is uploaded and imported on the Upload page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cxdata.config import Settings
from cxdata.report.render import pdf_problem
from cxdata.store import Store
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "screenshots"

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytest.skip("needs Debian's chromium: apt-get install -y chromium", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(db: Path) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free port of 127.0.0.1 over `db`; yields its URL."""
    port = _free_port()
    env = {**os.environ, "CXDATA_DB": str(db)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def app(tmp_path):
    db = tmp_path / "browser.duckdb"
    with running_app(db) as url:
        yield url, db


def _settle(page, text: str, timeout_ms: int = 60_000) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(1500)  # let charts finish drawing


PDF_READY = shutil.which("pdftoppm") is not None and pdf_problem() is None
if not PDF_READY and os.environ.get("CI"):
    raise RuntimeError("CI must install what the PDF report needs: pango, poppler-utils")


def _report_first_page(pdf: Path) -> None:
    """The report's first page as a picture beside the pages' (pdftoppm), and its text."""
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "90", "-png", "-singlefile",
                    str(pdf), str(SHOTS / "report_page1")], check=True)  # fmt: skip
    assert (SHOTS / "report_page1.png").stat().st_size > 20_000  # a drawn page, not a blank
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    for words in (
        "Customer experience: executive report",
        "Most delighting stage",
        "Which stages delight or disappoint which persona?",
        "Fix first",
    ):
        assert words in text, words


def test_every_page_and_an_upload(app, tmp_path):
    from playwright.sync_api import sync_playwright

    url, db = app
    SHOTS.mkdir(exist_ok=True)
    upload = tmp_path / "browser_upload.csv"
    upload.write_text("customer_id,stage,score,note\nB-1,Purchase,3,great\nB-2,Usage,-2,slow\n")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        _settle(page, "Where were observations made?", 120_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stVegaLiteChart"]').count() == 1
        page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

        page.goto(url + "heatmaps")
        _settle(page, "Which touchpoints delight or disappoint?")
        assert page.locator('[data-testid="stVegaLiteChart"]').count() == 3
        page.screenshot(path=str(SHOTS / "heatmaps.png"), full_page=True)
        grid = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
        assert grid is not None
        page.mouse.click(grid["x"] + 0.6 * grid["width"], grid["y"] + 116)  # a cell, row 2
        _settle(page, "Observations behind")
        page.screenshot(path=str(SHOTS / "heatmaps_cell.png"), full_page=True)
        if PDF_READY:  # else the page offers the HTML report only (tests/test_report.py)
            with page.expect_download(timeout=180_000) as report:  # made when clicked
                page.get_by_role("button", name="Download report (PDF)").click()
            pdf = tmp_path / "report.pdf"
            report.value.save_as(pdf)
            assert pdf.read_bytes().startswith(b"%PDF")
            _report_first_page(pdf)

        page.goto(url + "quality")
        _settle(page, "Where do they disagree most?")
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Scores differ from the other observers': D. Arslan" in _text(page)
        page.screenshot(path=str(SHOTS / "quality.png"), full_page=True)

        page.goto(url + "framework")
        _settle(page, "Interaction catalogue")
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Active: version 1 (framework.toml" in _text(page)
        assert page.get_by_role("button", name="Start with my own data").count() == 1
        page.screenshot(path=str(SHOTS / "framework.png"), full_page=True)

        page.goto(url + "upload")
        _settle(page, "Upload observations")
        page.locator('input[type="file"]').first.set_input_files(str(upload))
        _settle(page, "2 observations are ready to import")
        page.screenshot(path=str(SHOTS / "upload_checked.png"), full_page=True)
        page.get_by_role("button", name="Import").click()
        _settle(page, "browser_upload.csv: imported as batch 5")
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(SHOTS / "upload_imported.png"), full_page=True)
        browser.close()
    batches = Store.open(Settings(), db).batches()
    assert batches.iloc[0]["source_name"] == "browser_upload.csv"
    assert batches.iloc[0]["rows"] == 2


def _text(page: object) -> str:
    """The page's text as a reader copies it (without md()'s invisible word joiners)."""
    return str(page.inner_text("body")).replace("\u2060", "")  # type: ignore[attr-defined]


def test_markdown_from_files_is_text_and_loads_nothing(tmp_path):
    """An image in a stage, touchpoint, attribute name and value, and a persona name renders
    as its text on every page, and the browser never asks for its address."""
    from playwright.sync_api import sync_playwright

    from cxdata.ingest import ingest_file
    from cxdata.personas.discovery import discover
    from cxdata.personas.estimator import PersonaSettings
    from cxdata.personas.models import rename
    from cxdata.sample.load import load_sample

    trap = f"127.0.0.1:{_free_port()}"  # nothing listens there
    image = "![x](http://" + trap + "/{}.png)"
    db = tmp_path / "markup.duckdb"
    store = Store.open(Settings(), db)
    load_sample(store)
    hostile = tmp_path / "hostile.csv"
    column = image.format("column")
    lines = [f"customer_id,stage,touchpoint,score,{column}"]
    lines += [f"H{i},{image.format('stage')},{image.format('touchpoint')},{i % 5 - 2},"
              f"{image.format('value')}" for i in range(40)]  # fmt: skip
    hostile.write_text("\n".join(lines) + "\n")
    ingest_file(store, hostile)
    model = discover(store, PersonaSettings(k=3, bootstraps=2))
    rename(store, model.model_id, 1, image.format("persona"))

    asked: list[str] = []
    with running_app(db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: asked.append(r.url))
        page.goto(url, timeout=120_000)
        _settle(page, "Journey stages in order", 120_000)
        assert image.format("stage") in _text(page)
        page.screenshot(path=str(SHOTS / "markup_overview.png"), full_page=True)
        visits = [("heatmaps", "Which touchpoints delight"), ("priorities", "Fix-first"),
                  ("personas", "The 3 personas"), ("compare", "Compare segments"),
                  ("upload", "Upload observations"), ("admin", "Administration"),
                  ("quality", "Observation quality"),
                  ("framework", "Interaction catalogue")]  # fmt: skip
        for path, text in visits:
            page.goto(url + path)
            _settle(page, text)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            page.screenshot(path=str(SHOTS / f"markup_{path}.png"), full_page=True)
        page.goto(url + "personas")
        _settle(page, "The 3 personas")
        assert image.format("persona") in _text(page)
        browser.close()
    assert [u for u in asked if trap in u] == []
