"""AppTest of the Observation quality page: alpha, its reading, the flagged observer, the
disagreement table and coverage, as a user reads them."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cxdata.analysis.agreement import agreement
from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.store import Store
from tests.conftest import ROOT, shown
from tests.test_agreement import HEADER, generated


@pytest.fixture
def coded_app(tmp_path, monkeypatch):
    db = tmp_path / "q.duckdb"
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    store = Store.open(Settings(), db)
    rows, _ = generated(seed=11, units=120, harsh=2.0)
    path = tmp_path / "coded.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    ingest_file(store, path)
    return store


def test_quality_page_shows_agreement_bias_disagreements_and_coverage(coded_app):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/quality.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Observation quality"]
    expected = agreement(coded_app)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Krippendorff's α (interval)"] == f"{expected.overall['alpha']:.2f}"
    assert metrics["Double-coded units"] == "120"
    low, high = expected.overall["ci_low"], expected.overall["ci_high"]
    assert metrics["95% bootstrap interval"] == f"{low:.2f} to {high:.2f}"
    assert any(shown(m.value) == f"**{expected.overall['reading']}**" for m in at.markdown)
    (warning,) = at.warning
    assert shown(warning.value).startswith("Scores differ from the other observers': O0 (-")
    by_stage, bias, disagreements, coverage = (d.value for d in at.dataframe)
    assert list(by_stage["stage"]) == ["Browse", "Purchase", "Delivery"]
    assert bias.set_index("observer").loc["O0", "flagged"]
    assert bias["flagged"].sum() == 1
    top = disagreements.iloc[0]
    assert top["spread"] == expected.disagreements.iloc[0]["spread"]
    assert "O" in top["values"] and "note" in top["notes"]
    assert coverage.loc["O0", "Browse"].endswith(")")
    # the ordinal metric recomputes
    at.radio(key="quality_metric").set_value("ordinal").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Krippendorff's α (ordinal)"] == (
        f"{agreement(coded_app, metric='ordinal').overall['alpha']:.2f}"
    )


def test_quality_page_without_double_coding_says_how_to_get_it(tmp_path, monkeypatch):
    db = tmp_path / "single.duckdb"
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    store = Store.open(Settings(), db)
    path = tmp_path / "one.csv"
    path.write_text(HEADER + "A,Browse,T0,I0,1,Ann,x\nB,Browse,T0,I0,-1,Bob,y\n")
    ingest_file(store, path)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/quality.py").run()
    assert not at.exception, at.exception
    assert "No unit within these filters was coded by two observers" in at.info[0].value
    (coverage,) = (d.value for d in at.dataframe)
    assert coverage.loc["Ann", "Browse"] == "1 (1)"
    assert np.isnan(agreement(store).overall["alpha"])
