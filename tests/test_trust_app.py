"""Every page stays a page: a busy database is a message, a row without optional values
is a "(none)" row, never a traceback (AppTest of the router and every page)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.sample.load import load_sample
from cxdata.store import Store, version_cache
from tests.app_data import chart_data as _chart_data
from tests.conftest import ROOT, shown

PAGES = sorted(f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py"))
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
"""


def _page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page(page).run()
    return at


@pytest.fixture
def sample_db(app_db: Path) -> Path:
    load_sample(Store.open(Settings(), app_db))
    return app_db


def _forget_everything() -> None:
    """A freshly started app process: no cached reads, no kept-open database."""
    st.cache_data.clear()
    st.cache_resource.clear()
    version_cache._versions.clear()


@contextmanager
def held(db: Path) -> Iterator[None]:
    """Another process (the duckdb module, which does not take turns) holds the file."""
    from cxdata.store.turns import turns_for

    turns_for(db, 0).let_go()  # this process lets go of the file first
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)


@pytest.fixture
def short_waits(monkeypatch):
    monkeypatch.setenv("CXDATA_LOCK_TIMEOUT_S", "0.5")
    monkeypatch.setenv("CXDATA_KEEP_OPEN_S", "0")
    _forget_everything()


def test_a_held_database_is_a_busy_message_on_every_page(sample_db, short_waits):
    with held(sample_db):
        for page in PAGES:
            _forget_everything()
            at = _page(page)
            assert not at.exception, (page, at.exception)
            errors = [shown(e.value) for e in at.error]
            assert any("is busy" in e and "Try again in a moment" in e for e in errors), page


def test_a_warm_app_whose_database_becomes_busy_shows_no_traceback(sample_db, short_waits):
    for page in PAGES:  # warm: every cache filled
        assert not _page(page).exception, page
    with held(sample_db):
        for page in PAGES:
            at = _page(page)
            assert not at.exception, (page, at.exception)
            for error in at.error:
                assert "is busy" in shown(error.value), (page, error.value)


def test_a_row_without_optional_values_leaves_every_page_working(sample_db, tmp_path):
    bare = tmp_path / "bare.csv"
    bare.write_text("customer_id,stage,score\nNT1,Purchase,2\n")
    ingest_file(Store.open(Settings(), sample_db), bare)
    _forget_everything()
    for page in PAGES:
        at = _page(page)
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
    at = _page("app_pages/heatmaps.py")
    at.selectbox(key="heatmap_segment").set_value("loyalty_tier").run()  # not the personas
    by_tier, by_touchpoint = _chart_data(at, 0), _chart_data(at, 2)
    none = by_touchpoint[(by_touchpoint.stage == "Purchase") & (by_touchpoint.row == "(none)")]
    assert list(none.n_customers) == [1] and list(none.label) == ["+1.00 (low n)"]
    unknown = by_tier[(by_tier.stage == "Purchase") & (by_tier.row == "(unknown)")]
    assert list(unknown.n_customers) == [1]


def test_a_misspelt_setting_stops_the_app_with_a_message(app_db, monkeypatch):
    monkeypatch.setenv("CXDATA_TEAM_MODE", "ture")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert [shown(e.value) for e in at.error] == [
        "Cannot use CXDATA_TEAM_MODE='ture': team_mode accepts true or false "
        "(also 1/0, yes/no, on/off)."
    ]
    assert not at.metric and not at.get("vega_lite_chart")  # nothing else, no data
