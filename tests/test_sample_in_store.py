"""The sample data set, imported through the real pipeline, keeps its planted truth."""

from __future__ import annotations

import pandas as pd
import pytest

from cxdata.config import Settings
from cxdata.sample import PERSONAS, SAMPLE_DIR, STAGES, TRUTH_FILE
from cxdata.sample.load import load_sample
from cxdata.store import Store


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    store = Store.open(Settings(), tmp_path_factory.mktemp("sample") / "s.duckdb")
    results = load_sample(store)
    return store, results


def test_every_sample_file_imports_cleanly(loaded):
    store, results = loaded
    assert [r.file for r in results] == [
        "retail_store_visits.csv",
        "ecommerce_sessions_de.csv",
        "call_centre_calls.parquet",
        "survey_wide.csv",
    ]
    assert all(r.batch_id and not r.warnings for r in results)
    german = results[1]
    assert german.columns["customer_id"] == "Kundennummer" and german.columns["stage"] == "Phase"
    assert "UTF-8 with BOM" in german.description and "semicolon" in german.description
    stats = store.stats()
    assert stats["customers"] == 2400 and stats["stages"] == list(STAGES)
    studies = set(store.query_df("SELECT DISTINCT study FROM observations")["study"])
    assert studies == {
        "Retail store visits",
        "E-commerce sessions",
        "Call-centre calls",
        "Post-purchase survey",
    }


def test_outcomes_are_stored_per_customer(loaded):
    store, _ = loaded
    df = store.query_df(
        "SELECT name, count(DISTINCT customer_id) AS customers, min(number) AS lo, "
        "max(number) AS hi FROM customer_attributes WHERE kind = 'outcome' GROUP BY name"
    ).set_index("name")
    assert df.loc["satisfied", ["lo", "hi"]].tolist() == [0.0, 1.0]
    assert df.loc["nps", "lo"] >= 0 and df.loc["nps", "hi"] <= 10


def test_planted_stage_verdicts_come_out_of_the_store(loaded):
    """Per persona, share of customers with stage score > 0 minus share < 0, from the
    observation logs (the survey has its own scale and is left out)."""
    store, _ = loaded
    sums = store.query_df(
        "SELECT customer_id, stage, sum(score) AS s FROM observations "
        "WHERE study <> 'Post-purchase survey' GROUP BY ALL"
    )
    truth = pd.read_csv(SAMPLE_DIR / TRUTH_FILE)
    df = sums.merge(truth, on="customer_id")
    net = df.groupby(["persona", "stage"])["s"].apply(lambda s: (s > 0).mean() - (s < 0).mean())
    for persona in PERSONAS:
        for stage in persona.disappoint:
            assert net[persona.name, stage] <= -0.4, (persona.name, stage)
        for stage in persona.delight:
            assert net[persona.name, stage] >= 0.4, (persona.name, stage)
