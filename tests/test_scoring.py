"""Score definitions on hand-computed fixtures, verdicts, low n, CI coverage, filters, and the
planted stage effects of the sample data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxdata.analysis.filters import FilterError, Filters
from cxdata.analysis.scoring import cell_observations, stage_scores, totals
from cxdata.config import Settings
from cxdata.ingest import Mapping, ingest_file
from cxdata.sample import PERSONAS, SAMPLE_DIR, TRUTH_FILE
from cxdata.sample.load import load_sample
from cxdata.store import Store

HEADER = "customer_id,stage,touchpoint,channel,score,observed_at,study,tier,note\n"
ROWS = [
    # A: +2 and -2 cancel (cell 0); B: +3; C: -1 -1; D: +1 -> stage Purchase
    "A,Purchase,Till,store,2,2026-01-05,S1,Gold,friendly",
    "A,Purchase,Till,store,-2,2026-01-05,S1,Gold,slow card reader",
    "B,Purchase,Web checkout,web,3,2026-02-10,S2,Gold,one click",
    "C,Purchase,Till,store,-1,2026-02-11,S1,Basic,queue",
    "C,Purchase,Web checkout,web,-1,2026-02-12,S2,Basic,error page",
    "D,Purchase,Web checkout,web,1,2026-03-01,S2,Basic,ok",
    # a second stage: E delighted, A disappointed
    "E,Delivery,Locker,web,2,2026-03-02,S2,Gold,fast",
    "A,Delivery,Home,store,-3,2026-03-03,S1,Gold,lost parcel",
]


@pytest.fixture
def small(store, write):
    ingest_file(store, write("small.csv", HEADER + "\n".join(ROWS) + "\n"))
    return store


def _row(df, **where):
    mask = np.logical_and.reduce([df[k] == v for k, v in where.items()])
    (row,) = df[mask].to_dict("records")
    return row


def test_stage_definitions_by_hand(small):
    purchase = _row(stage_scores(small), stage="Purchase")
    assert purchase["n_customers"] == 4 and purchase["n_observations"] == 6
    assert purchase["mean_score"] == pytest.approx(0.5)  # (0 + 3 - 2 + 1) / 4
    # sample sd of [0, 3, -2, 1] = sqrt(13/3); t(0.975, 3) = 3.18245
    half = 3.182446305 * np.sqrt(13 / 3) / 2
    assert purchase["ci_low"] == pytest.approx(0.5 - half, abs=1e-6)
    assert purchase["ci_high"] == pytest.approx(0.5 + half, abs=1e-6)
    assert purchase["delight_share"] == 0.5  # B and D; A's +2 -2 is neutral
    assert purchase["disappointment_share"] == 0.25  # C
    assert purchase["net_experience"] == 0.25 and purchase["verdict"] == "delight"
    assert purchase["mean_positive"] == pytest.approx(1.5)  # (2 + 3 + 0 + 1) / 4
    assert purchase["mean_negative"] == pytest.approx(-1.0)  # (-2 + 0 - 2 + 0) / 4
    assert purchase["low_n"]
    delivery = _row(stage_scores(small), stage="Delivery")
    assert (delivery["n_customers"], delivery["net_experience"]) == (2, 0.0)
    assert delivery["verdict"] == "neutral"


def test_groups_by_touchpoint_channel_attribute_and_month(small):
    by_tp = stage_scores(small, ["touchpoint"])
    till = _row(by_tp, stage="Purchase", touchpoint="Till")
    assert (till["n_customers"], till["mean_score"], till["net_experience"]) == (2, -0.5, -0.5)
    web = _row(by_tp, stage="Purchase", touchpoint="Web checkout")
    assert (web["n_customers"], web["mean_score"]) == (3, 1.0)  # B 3, C -1, D 1
    gold = _row(stage_scores(small, ["tier"]), stage="Purchase", tier="Gold")
    assert (gold["n_customers"], gold["mean_score"], gold["delight_share"]) == (2, 1.5, 0.5)
    months = stage_scores(small, ["observed_month"])
    feb = _row(months, stage="Purchase", observed_month="2026-02")
    assert (feb["n_customers"], feb["mean_score"]) == (2, 0.5)  # B 3, C -1 -1
    q1 = _row(stage_scores(small, ["observed_quarter"]), stage="Purchase")
    assert (q1["observed_quarter"], q1["n_customers"], q1["mean_score"]) == ("2026-Q1", 4, 0.5)
    year = _row(stage_scores(small, ["observed_year"]), stage="Delivery")
    assert (year["observed_year"], year["n_customers"]) == ("2026", 2)


def test_stages_come_in_journey_order(small):
    assert list(stage_scores(small)["stage"]) == ["Purchase", "Delivery"]


def test_configured_stages_first_then_the_others_by_first_appearance(store, write):
    log = "customer_id,stage,score\nC1,Usage,1\nC2,Purchase,2\nC3,Awareness,1\nC4,Delivery,-1\n"
    ingest_file(store, write("a.csv", log), mapping=Mapping(stage_order=("Delivery", "Purchase")))
    ingest_file(store, write("b.csv", "customer_id,stage,score\nC5,Advocacy,3\n"))
    expected = ["Delivery", "Purchase", "Usage", "Awareness", "Advocacy"]
    assert store.stage_order() == expected
    assert list(stage_scores(store)["stage"]) == expected


@pytest.mark.parametrize(
    ("scores", "verdict"),
    [
        ([1, 1, -1, 0, 0], "delight"),  # net exactly +0.2
        ([1, -1, -1, 0, 0], "disappointment"),  # net exactly -0.2
        ([1, 1, 1, -1, -1, -1, 1, 0, 0, 0, 0], "neutral"),
    ],  # net 1/11
)
def test_verdict_thresholds_are_inclusive(store, write, scores, verdict):
    body = "".join(f"C{i},Usage,{s}\n" for i, s in enumerate(scores))
    ingest_file(store, write("v.csv", "customer_id,stage,score\n" + body))
    assert _row(stage_scores(store), stage="Usage")["verdict"] == verdict


def test_thresholds_and_low_n_follow_settings(small):
    strict = Store(small.path, Settings(delight_threshold=0.3, min_customers=4))
    purchase = _row(stage_scores(strict), stage="Purchase")
    assert purchase["verdict"] == "neutral" and not purchase["low_n"]


def test_filters_compose(small):
    by_study = stage_scores(small, filters=Filters.build({"study": ["S2"]}))
    assert _row(by_study, stage="Purchase")["n_customers"] == 3  # B, C, D
    web_basic = Filters.build({"channel": ["web"]}, {"tier": ["Basic"]})
    assert _row(stage_scores(small, filters=web_basic), stage="Purchase")["mean_score"] == 0.0
    winter = Filters.build(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 2, 10))
    purchase = _row(stage_scores(small, filters=winter), stage="Purchase")
    assert purchase["n_customers"] == 2  # A (both on 01-05), B on 02-10 (inclusive)
    assert totals(small, winter) == {"observations": 3, "customers": 2}


def test_filter_parsing_checks_columns(small):
    names = {"tier"}
    assert Filters.parse(["study=S1", "study=S2", "tier=Gold"], names) == Filters.build(
        {"study": ["S1", "S2"]}, {"tier": ["Gold"]}
    )
    assert Filters.parse(["observed_at>=2026-02-01"], names).date_from == dt.date(2026, 2, 1)
    with pytest.raises(FilterError, match='unknown column "score; DROP TABLE x"'):
        Filters.parse(["score; DROP TABLE x=1"], names)
    with pytest.raises(FilterError, match="cannot group by"):
        stage_scores(small, ["note"])


def test_cell_observations_with_notes(small):
    rows = cell_observations(small, Filters(), "Purchase", "tier", "Gold")
    assert list(rows["note"]) == ["slow card reader", "friendly", "one click"]


def test_confidence_interval_coverage_on_skewed_scores(store, tmp_path):
    """95% intervals cover the true mean in about 95% of 400 simulated studies of 40
    customers each, with skewed scores (-3 is common, +3 rare)."""
    rng = np.random.default_rng(0)
    values, p = np.array([-3, -1, 0, 1, 3]), np.array([0.3, 0.1, 0.3, 0.2, 0.1])
    true_mean = float(values @ p)
    studies, n = 400, 40
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(studies * n)],
            "stage": "Usage",
            "score": rng.choice(values, size=studies * n, p=p),
            "study": np.repeat([f"S{i:03d}" for i in range(studies)], n),
        }
    )
    path = tmp_path / "sim.csv"
    df.to_csv(path, index=False)
    ingest_file(store, path)
    cis = stage_scores(store, ["study"])
    covered = ((cis["ci_low"] <= true_mean) & (true_mean <= cis["ci_high"])).mean()
    assert len(cis) == studies and 0.92 <= covered <= 0.98


def test_sample_planted_stage_effects_are_found(tmp_path):
    store = Store.open(Settings(), tmp_path / "sample.duckdb")
    load_sample(store)
    truth = pd.read_csv(SAMPLE_DIR / TRUTH_FILE)
    with store.connect() as con:  # planted labels as an attribute, to group by them
        con.register("truth", truth)
        con.execute(
            "INSERT INTO customer_attributes SELECT 0, customer_id, 'planted', "
            "'attribute', 'VARCHAR', persona, NULL FROM truth"
        )
    logs = Filters.build(
        {"study": ["Retail store visits", "E-commerce sessions", "Call-centre calls"]}
    )
    scores = stage_scores(store, ["planted"], logs)
    for persona in PERSONAS:
        for stage in persona.disappoint:
            assert _row(scores, stage=stage, planted=persona.name)["verdict"] == "disappointment"
        for stage in persona.delight:
            assert _row(scores, stage=stage, planted=persona.name)["verdict"] == "delight"


def test_headline_names_a_stage_only_at_its_threshold():
    from cxdata.analysis.scoring import headline

    scores = pd.DataFrame({"stage": ["A", "B", "C"], "net_experience": [0.13, 0.19, 0.2]})
    cfg = Settings(delight_threshold=0.2, disappointment_threshold=-0.2)
    head = headline(scores, cfg)
    assert head["worst"] is None and head["best"]["stage"] == "C"  # type: ignore[index]
    scores["net_experience"] = [-0.2, 0.1, 0.19]
    head = headline(scores, cfg)
    assert head["best"] is None and head["worst"]["stage"] == "A"  # type: ignore[index]
