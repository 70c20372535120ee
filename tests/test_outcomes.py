"""Outcome KPIs: the kind comes from the answers (never the column's name), the numbers by
hand, the "(unknown)" group, persona profiles, the CLI's JSON, and interval coverage by
simulation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxdata.analysis.filters import FilterError, Filters
from cxdata.analysis.outcome_stats import mean_interval, nps_interval, rate_interval, summarise
from cxdata.analysis.outcomes import outcome_kinds, outcome_kpis, sentence
from cxdata.cli import main
from cxdata.errors import IngestError
from cxdata.ingest import ingest_file, parse_mapping
from cxdata.personas.profiles import outcome_rates

# recommended: yes/no text (no positive in the mapping); likely: 0-10; csat: 1-5;
# nps: a column *named* nps that holds 1-5 answers (a mean, not an NPS).
HEADER = "customer_id,stage,score,observed_at,cabin,recommended,likely,csat,nps\n"
ANSWERS = [
    # id, cabin, recommended, likely, csat, nps
    ("A", "Economy", "yes", 10, 5, 5),
    ("B", "Economy", "yes", 9, 4, 4),
    ("C", "Economy", "no", 8, 3, 3),
    ("D", "Business", "yes", 5, 2, 2),
    ("E", "Business", "no", 0, 1, 1),
    ("F", "", "yes", 10, 4, 4),  # no cabin: the "(unknown)" row
]
MAPPING = b"""[outcomes]
recommended = { column = "recommended" }
likely = { column = "likely" }
csat = { column = "csat" }
nps = { column = "nps" }
"""


def _rows() -> str:
    lines = []
    for i, (cid, cabin, rec, likely, csat, nps) in enumerate(ANSWERS):
        day = "2019-03-01" if i < 3 else "2022-07-01"
        lines.append(f"{cid},Booking,1,{day},{cabin},{rec},{likely},{csat},{nps}")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture
def answered(store, write):
    ingest_file(store, write("flights.csv", _rows()), mapping=parse_mapping(MAPPING, "m.toml"))
    return store


def _one(df: pd.DataFrame, **where: object) -> dict:
    mask = np.logical_and.reduce([df[k] == v for k, v in where.items()])
    (row,) = df[mask].to_dict("records")
    return row


def test_kinds_come_from_values_not_names(answered):
    kinds = {k.name: (k.kind, k.positive) for k in outcome_kinds(answered)}
    assert kinds == {
        "recommended": ("rate", "yes"),  # two text values, "yes" is the positive one
        "likely": ("nps", None),  # whole numbers 0..10
        "csat": ("mean", None),
        "nps": ("mean", None),  # named nps, but 1-5 answers: a mean
    }


def test_kpis_by_hand(answered):
    df = outcome_kpis(answered)
    rec = _one(df, outcome="recommended")
    assert (rec["value"], rec["n"]) == (pytest.approx(4 / 6), 6)
    # Wilson: centre (x + z²/2) / (n + z²), half z/(n + z²) sqrt(x(n-x)/n + z²/4)
    z, x, n = 1.959963984540054, 4, 6
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(x * (n - x) / n + z * z / 4)
    assert (rec["ci_low"], rec["ci_high"]) == (pytest.approx(centre - half),
                                               pytest.approx(centre + half))  # fmt: skip
    likely = _one(df, outcome="likely")  # promoters A, B, F; detractors D, E
    assert likely["value"] == pytest.approx(100 * (3 - 2) / 6)
    p, d = (3 + 0.75) / 9, (2 + 0.75) / 9  # adjusted Wald: 3/4 each, n + 3
    half = z * np.sqrt((p + d - (p - d) ** 2) / 9)
    assert likely["ci_low"] == pytest.approx(100 * (p - d - half))
    assert likely["ci_high"] == pytest.approx(100 * (p - d + half))
    csat = _one(df, outcome="nps")
    assert csat["kind"] == "mean" and csat["value"] == pytest.approx(19 / 6)
    assert all(df["low_n"])  # 6 customers < min_customers (30)
    assert sentence(rec).startswith("recommended: 67% yes (95% CI ")


def test_groups_keep_the_unknown_row_with_its_n(answered):
    df = outcome_kpis(answered, "cabin", outcomes=["recommended"])
    assert list(df["cabin"]) == ["Business", "Economy", "(unknown)"]
    assert list(df["n"]) == [2, 3, 1]
    assert list(df["value"]) == [0.5, pytest.approx(2 / 3), 1.0]


def test_groups_by_period_and_filters(answered):
    df = outcome_kpis(answered, "observed_year", outcomes=["recommended"])
    assert list(df["observed_year"]) == ["2019", "2022"]
    assert list(df["value"]) == [pytest.approx(2 / 3), pytest.approx(2 / 3)]
    only = Filters.build(attributes={"cabin": ["Business"]})
    row = _one(outcome_kpis(answered, None, only), outcome="likely")
    assert (row["n"], row["value"]) == (2, -100.0)  # D 5, E 0: two detractors


def test_unknown_outcome_or_group_is_a_clear_error(answered):
    with pytest.raises(FilterError, match="unknown outcome satisfaction; choose from"):
        outcome_kpis(answered, outcomes=["satisfaction"])
    with pytest.raises(FilterError, match='cannot group by "cabn"'):
        outcome_kpis(answered, "cabn")


def test_persona_profile_reads_a_recommended_yes_no_as_a_share():
    """The bug: a yes/no `recommended` (stored 1/0 via positive) showed as NPS -100."""
    ids = [f"c{i}" for i in range(20)]
    outcomes = pd.DataFrame({
        "customer_id": ids * 2,
        "name": ["recommended"] * 20 + ["likely"] * 20,
        "number": [1.0] * 11 + [0.0] * 9 + [10.0] * 10 + [3.0] * 10,
    })  # fmt: skip
    rates = outcome_rates(outcomes, pd.Index(ids))
    assert rates == {"recommended": 0.55, "likely": 0.0}  # 50% promoters - 50% detractors
    assert outcome_rates(outcomes, pd.Index(ids[:10])) == {"recommended": 1.0, "likely": 100.0}


def test_cli_json_rows(answered, capsys):
    code = main(["outcomes", "--db", str(answered.path), "--by", "cabin", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    economy = next(r for r in rows if r["outcome"] == "likely" and r["cabin"] == "Economy")
    assert {k: economy[k] for k in ("kind", "n")} == {"kind": "nps", "n": 3}
    assert economy["value"] == pytest.approx(100 * 2 / 3)  # A 10, B 9, C 8 (passive)
    assert set(economy) >= {"outcome", "kind", "value", "ci_low", "ci_high", "n", "cabin"}
    code = main(["outcomes", "--db", str(answered.path), "--by", "nowhere"])
    assert code == 2 and 'cannot group by "nowhere"' in capsys.readouterr().err


@pytest.mark.parametrize("column", ["observed_month", "persona"])
def test_a_file_column_named_like_a_built_in_is_refused(store, write, column):
    path = write("clash.csv", f"customer_id,stage,score,{column}\nA,Buy,1,x\n")
    with pytest.raises(IngestError) as info:
        ingest_file(store, path)
    (problem,) = info.value.problems
    assert (problem.column, problem.file) == (column, path.name)
    assert "[attributes]" in problem.reason


def test_a_file_month_column_is_its_own(store, write):
    """A file's `month` is an attribute like any other; the built-in is observed_month."""
    rows = "customer_id,stage,score,observed_at,month\nA,Buy,1,2026-01-05,June\n"
    ingest_file(store, write("m.csv", rows))
    from cxdata.analysis.scoring import stage_scores

    row = stage_scores(store, ["month", "observed_month"]).iloc[0]
    assert (row["month"], row["observed_month"]) == ("June", "2026-01")


# -- coverage by simulation: the share of 95% intervals that hold the true value ---------

SEEDS = 2000


def _coverage(draw, kind: str, truth: float) -> float:
    hits = 0
    for seed in range(SEEDS):
        kpi = summarise(kind, draw(np.random.default_rng(seed)))  # type: ignore[arg-type]
        hits += kpi["ci_low"] <= truth <= kpi["ci_high"]
    return hits / SEEDS


@pytest.mark.parametrize("p, n", [(0.55, 40), (0.1, 60), (0.9, 200)])
def test_rate_interval_coverage(p, n):
    assert 0.93 <= _coverage(lambda r: (r.random(n) < p).astype(float), "rate", p) <= 0.975


@pytest.mark.parametrize("probs, n", [((0.5, 0.3, 0.2), 50), ((0.2, 0.3, 0.5), 200),
                                      ((0.7, 0.2, 0.1), 40)])  # fmt: skip
def test_nps_interval_coverage(probs, n):
    """(promoter, passive, detractor) shares; answers drawn as 10, 8 and 3."""
    truth = 100 * (probs[0] - probs[2])
    draw = lambda r: r.choice([10.0, 8.0, 3.0], size=n, p=probs)  # noqa: E731
    assert 0.93 <= _coverage(draw, "nps", truth) <= 0.975


def test_mean_interval_coverage():
    draw = lambda r: r.integers(1, 6, size=30).astype(float)  # noqa: E731  CSAT 1-5, mean 3
    assert 0.93 <= _coverage(draw, "mean", 3.0) <= 0.97


def test_small_and_empty_groups():
    assert np.isnan(rate_interval(0, 0)[0]) and np.isnan(nps_interval(0, 0, 0)[0])
    assert mean_interval(4.0, np.nan, 1)[0] == 4.0
    assert np.isnan(mean_interval(4.0, np.nan, 1)[1:]).all()  # one answer: no interval
    low, high = nps_interval(5, 0, 5)[1:]
    assert high == 100.0 and low < 100.0  # clipped to the scale, never a zero-width interval


def test_numeric_answers_beside_text_ignore_the_text():
    from cxdata.analysis.outcomes import kind_from_summary

    # 0/1 answers and some "n/a": a rate over the numbers; 0-10 and "n/a": NPS
    assert kind_from_summary(10, 8, 0, 1, 0, 0, 3) == "rate"
    assert kind_from_summary(10, 8, 0, 10, 6, 0, 9) == "nps"
    assert kind_from_summary(10, 8, 1, 5, 6, 0, 6) == "mean"
    assert kind_from_summary(10, 0, np.nan, np.nan, 0, 0, 3) is None  # three text values


def test_a_group_without_answers_is_listed_with_n_0(store, write):
    rows = "customer_id,stage,score,tier,likely\nA,Buy,1,Gold,9\nB,Buy,1,Gold,3\nC,Buy,1,,\n"
    mapping = parse_mapping(b'[outcomes]\nlikely = { column = "likely" }\n', "m.toml")
    ingest_file(store, write("t.csv", rows), mapping=mapping)
    df = outcome_kpis(store, "tier")
    assert list(zip(df["tier"], df["n"], strict=True)) == [("Gold", 2), ("(unknown)", 0)]
    assert df["value"].iloc[0] == 0.0 and np.isnan(df["value"].iloc[1])  # 1 promoter, 1 detractor
