"""AppTest of the Compare segments page: the sentence and the numbers a user reads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.analysis.compare import Segment, compare, segment_label, summary
from cxdata.config import Settings
from cxdata.personas.discovery import discover
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.conftest import ROOT, shown


@pytest.fixture
def app_store(tmp_path, monkeypatch):
    db = tmp_path / "cmp.duckdb"
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    store = Store.open(Settings(), db)
    load_sample(store)
    discover(store)
    return store


def test_compare_page_persona_against_everyone_else(app_store):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, at.exception
    a, b = Segment((("persona", "1"),)), Segment(rest=True)
    expected = compare(app_store, a, b)
    sentence = summary(expected, segment_label(app_store, a), "everyone else")
    assert any(shown(m.value) == f"**{sentence}**" for m in at.markdown)
    assert "3.3 points lower than everyone else at Delivery" in sentence
    table = at.dataframe[0].value.set_index("stage")
    for stage, row in expected.set_index("stage").iterrows():
        assert table.loc[stage, "n_a"] == row.n_a and table.loc[stage, "n_b"] == row.n_b
        assert table.loc[stage, "diff"] == pytest.approx(row["diff"])
        assert bool(table.loc[stage, "significant"]) == bool(row.significant)


def test_compare_page_attribute_segments(app_store):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    at.radio(key="compare_a_kind").set_value("attribute values").run()
    at.selectbox(key="compare_a_attr_0").set_value("age_band").run()
    at.selectbox(key="compare_a_val_0").set_value("65+").run()
    assert not at.exception, at.exception
    expected = compare(app_store, Segment((("age_band", "65+"),)), Segment(rest=True))
    text = summary(expected, "age_band=65+", "everyone else")
    assert any(shown(m.value) == f"**{text}**" for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["n_a"]) == list(expected["n_a"])
