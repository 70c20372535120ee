"""AppTest of the Compare segments page: the sentence and the numbers a user reads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.analysis.compare import METHOD, Segment, compare, segment_label, summary
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
        assert table.loc[stage, "ci_low"] == pytest.approx(row.ci_low)
        assert table.loc[stage, "ci95_high"] == pytest.approx(row.ci95_high)
    # The method is stated, and the whiskers' caption names the adjusted level (5 of 6).
    how = next(e for e in at.expander if e.label == "How this is computed")
    assert [shown(m.value) for m in how.markdown] == [METHOD]
    assert any(
        "Whiskers and ci_low/ci_high: 95.83% intervals, adjusted for selecting 5 of 6 stages"
        in shown(c.value)
        for c in at.caption
    )


def test_compare_page_attribute_segments(app_store):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    at.radio(key="compare_a_kind").set_value("attribute values").run()
    at.selectbox(key="compare_a_attr_0").set_value("age_band").run()
    at.multiselect(key="compare_a_vals_0").set_value(["65+"]).run()
    assert not at.exception, at.exception
    expected = compare(app_store, Segment((("age_band", "65+"),)), Segment(rest=True))
    text = summary(expected, "age_band=65+", "everyone else")
    assert any(shown(m.value) == f"**{text}**" for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["n_a"]) == list(expected["n_a"])
    unknown = expected.attrs["n_unknown"]
    assert any(f"Left out as unknown: {unknown:,} customers" in c.value for c in at.caption)


def test_personas_sharing_a_name_stay_apart_in_the_picker(app_store):
    """A store from before rename refused duplicates can hold two personas with one name (and
    a persona named like another's number): the picker keys by number, labels by name."""
    from cxdata.app.widgets import persona_labels

    with app_store.connect() as con:
        con.execute("UPDATE persona_names SET name = 'Twin' WHERE persona IN (1, 2)")
        con.execute("UPDATE persona_names SET name = '1' WHERE persona = 3")
    observed = app_store.query_df(
        "SELECT a.persona, o.stage, count(DISTINCT o.customer_id) AS n FROM observations o "
        "JOIN persona_assignments a USING (customer_id) GROUP BY ALL"
    ).set_index(["persona", "stage"])["n"]
    names = app_store.query_df("SELECT persona, name FROM persona_names ORDER BY persona")
    labels = persona_labels(names)
    assert (labels[1], labels[2], labels[3]) == ("Twin (persona 1)", "Twin (persona 2)", "1")

    # "persona=1" is persona number 1, not also the persona named "1" (number 3).
    by_number = compare(app_store, Segment((("persona", "1"),)), Segment(rest=True))
    assert dict(zip(by_number["stage"], by_number["n_a"], strict=True)) == observed[1].to_dict()

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    picker = at.selectbox(key="compare_a_persona")
    assert picker.options[:3] == ["Twin (persona 1)", "Twin (persona 2)", "1"]
    picker.set_value(2).run()
    assert not at.exception, at.exception
    expected = compare(app_store, Segment((("persona", "2"),)), Segment(rest=True))
    table = at.dataframe[0].value
    assert list(table["n_a"]) == list(expected["n_a"])
    assert dict(zip(table["stage"], table["n_a"], strict=True)) == observed[2].to_dict()
    assert any(m.value.startswith("**Twin (persona 2) customers score") for m in at.markdown)
