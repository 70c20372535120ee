"""Segment comparison: honest under the null, right under planted differences."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxdata.analysis.compare import Segment, compare, compare_cells, segment_label, summary
from cxdata.analysis.filters import FilterError
from cxdata.cli import main
from cxdata.config import Settings
from cxdata.personas.discovery import discover
from cxdata.sample import SAMPLE_DIR, TRUTH_FILE
from cxdata.sample.load import load_sample
from cxdata.store import Store

STAGES = ["S1", "S2", "S3", "S4", "S5", "S6"]
VALUES, PROBS = np.array([-3, -1, 0, 1, 2, 3]), np.array([0.25, 0.15, 0.2, 0.2, 0.1, 0.1])


def _cells(rng, n_a, n_b, shift=0.0):
    rows = []
    for stage in STAGES:
        for side, n, delta in (("a", n_a, shift), ("b", n_b, 0.0)):
            scores = rng.choice(VALUES, size=n, p=PROBS) + delta
            rows.append(pd.DataFrame({"stage": stage, "score": scores, "side": side}))
    return pd.concat(rows, ignore_index=True)


def test_no_true_difference_rarely_flagged():
    """200 simulated comparisons of six stages with no difference: at most 5% of rows
    are flagged significant after correction."""
    rng = np.random.default_rng(1)
    flagged = [compare_cells(_cells(rng, 60, 80))["significant"] for _ in range(200)]
    share = float(np.mean(np.concatenate(flagged)))
    assert share <= 0.05


def test_difference_intervals_cover_the_truth():
    """Each row's unadjusted 95% Welch interval covers the true difference about 95% of the
    time; the adjusted interval (level 1 - max(R, 1) * 0.05 / m >= 95%) contains it."""
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(300):
        df = compare_cells(_cells(rng, 50, 70, shift=0.5))
        covered.append(((df["ci95_low"] <= 0.5) & (df["ci95_high"] >= 0.5)).to_numpy())
        assert (df["ci_level"] >= 0.95).all()
        assert (df["ci_low"] <= df["ci95_low"]).all() and (df["ci_high"] >= df["ci95_high"]).all()
    assert 0.93 <= float(np.mean(covered)) <= 0.97


def test_small_cells_are_reported_not_tested():
    rng = np.random.default_rng(3)
    df = compare_cells(_cells(rng, 10, 80), min_customers=30)
    assert not df["tested"].any() and df["q_value"].isna().all()
    assert (df["n_a"] == 10).all()
    assert "too few customers to test" in summary(df, "A", "B")


def test_a_touchpoint_met_in_two_stages_is_two_rows_never_one_mixed_row():
    def side(stage: str, name: str, scores: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"stage": stage, "touchpoint": "App", "side": name, "score": scores})

    b = [0, 1, 0, 1]
    cells = pd.concat([side("S1", "a", [2, 3, 2, 3]), side("S1", "b", b),
                       side("S2", "a", [-2, -3, -2, -3]), side("S2", "b", b)])  # fmt: skip
    df = compare_cells(cells, "touchpoint", min_customers=2, order=["S1", "S2"])
    assert list(zip(df["touchpoint"], df["stage"], strict=True)) == [("App", "S1"), ("App", "S2")]
    assert df["diff"].tolist() == [2.0, -3.0] and df["n_a"].tolist() == [4, 4]


def test_by_hand_row():
    cells = pd.DataFrame({"stage": "S", "side": ["a"] * 3 + ["b"] * 3,
                          "score": [1.0, 2.0, 3.0, 0.0, 0.0, 3.0]})  # fmt: skip
    row = compare_cells(cells, min_customers=3).iloc[0]
    assert (row.n_a, row.n_b, row.mean_a, row.mean_b, row["diff"]) == (3, 3, 2.0, 1.0, 1.0)
    assert row.delight_a == 1.0 and row.delight_b == pytest.approx(1 / 3)
    assert row.delight_diff == pytest.approx(2 / 3)
    # Mann-Whitney U of A = 6.5 of 9 pairs -> Cliff's delta 2 * 6.5 / 9 - 1
    assert row.effect_size == pytest.approx(2 * 6.5 / 9 - 1)
    # Welch by hand: variances 1 and 3, se^2 = 1/3 + 3/3, Welch-Satterthwaite df = 3.2
    se, df = (4 / 3) ** 0.5, (4 / 3) ** 2 / ((1 / 3) ** 2 / 2 + 1**2 / 2)
    assert df == pytest.approx(3.2)
    assert row.p_value == pytest.approx(2 * stats.t.sf(1.0 / se, df))
    half = stats.t.ppf(0.975, df) * se  # one row tested: R = 0, level 1 - 1 * 0.05 / 1
    assert (row.ci95_low, row.ci95_high) == pytest.approx((1.0 - half, 1.0 + half))
    assert (row.ci_low, row.ci_high, row.ci_level) == pytest.approx((1 - half, 1 + half, 0.95))
    assert row.q_value == pytest.approx(row.p_value) and not row.significant


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    store = Store.open(Settings(), tmp_path_factory.mktemp("cmp") / "c.duckdb")
    load_sample(store)
    discover(store)
    return store


def test_planted_differences_found_with_the_right_sign(sample_store):
    truth = pd.read_csv(SAMPLE_DIR / TRUTH_FILE)
    app_first = truth[truth.persona == "App-first digital natives"]
    persona = sample_store.query_df(
        "SELECT persona FROM persona_assignments WHERE customer_id = ?",
        [app_first.customer_id.iloc[0]],
    )["persona"][0]
    a = Segment((("persona", str(persona)),))
    df = compare(sample_store, a, Segment(rest=True)).set_index("stage")
    assert df.loc["Delivery", "diff"] < -1 and df.loc["Delivery", "significant"]
    assert df.loc["Purchase", "diff"] > 1 and df.loc["Purchase", "significant"]
    assert df.loc["Delivery", "ci_high"] < 0 < df.loc["Purchase", "ci_low"]
    text = summary(df.reset_index(), segment_label(sample_store, a), "everyone else")
    assert text.startswith("App-first")
    # Signed bounds of A - B, named as the adjusted intervals they are (not "95% CI").
    delivery, purchase = df.loc["Delivery"], df.loc["Purchase"]
    assert (
        f"3.3 points lower than everyone else at Delivery (adjusted CI "
        f"{delivery.ci_low:+.1f} to {delivery.ci_high:+.1f})" in text
    )
    assert "at Delivery (adjusted CI -3.6 to -3.1)" in text
    assert f"2.6 higher at Purchase (adjusted CI {purchase.ci_low:+.1f} to +2.8)" in text
    level = df["ci_level"].iloc[0]
    assert df["significant"].sum() == 5 and level == pytest.approx(1 - 5 * 0.05 / 6)
    assert f"adjusted CIs are {100 * level:.4g}% intervals" in text and "95% CI" not in text


def test_attribute_segments_and_cli(sample_store, capsys):
    code = main(["compare", "--db", str(sample_store.path), "--a", "loyalty_tier=Gold",
                 "--a", "age_band=55-64", "--b", "loyalty_tier=Basic", "--by", "touchpoint",
                 "--json"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(rows[0]) >= {"touchpoint", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low",
                            "ci_high", "ci_level", "ci95_low", "ci95_high", "p_value", "q_value",
                            "significant"}  # fmt: skip
    gold = sample_store.query_df(
        "SELECT count(DISTINCT o.customer_id) AS n FROM observations o "
        "JOIN customer_attributes t ON t.customer_id = o.customer_id AND t.name = 'loyalty_tier' "
        "AND t.value = 'Gold' JOIN customer_attributes g ON g.customer_id = o.customer_id "
        "AND g.name = 'age_band' AND g.value = '55-64' WHERE o.touchpoint = 'Home delivery'"
    )["n"][0]
    assert next(r for r in rows if r["touchpoint"] == "Home delivery")["n_a"] == gold
    assert main(["compare", "--db", str(sample_store.path), "--a", "shoe=42", "--b", "rest"]) == 2
    with pytest.raises(FilterError):
        compare(sample_store, Segment(rest=True), Segment(rest=True))
