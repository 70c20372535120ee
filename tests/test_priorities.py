"""Priorities: importance, quadrants and rank on hand-computed fixtures, moments of truth with
Newcombe's intervals, and the planted truth of the sample data (Home delivery important and
poor, Chatbot poor but unimportant); the Priorities page shows the fix-first list."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

from cxdata.analysis import priorities as priorities_module
from cxdata.analysis.filters import FilterError, Filters
from cxdata.analysis.moments import moments_of_truth, newcombe
from cxdata.analysis.priorities import (
    classify,
    customer_cells,
    outcome_choices,
    priorities,
)
from cxdata.config import Settings
from cxdata.ingest import ingest_file, load_mapping
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.conftest import ROOT, shown


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("sample") / "cx.duckdb"
    load_sample(Store.open(Settings(lock_timeout_s=5.0), path))
    return path


@pytest.fixture(scope="module")
def sample(sample_db) -> Store:
    return Store.open(Settings(lock_timeout_s=5.0), sample_db)


# C7 has no NPS answer: it counts for performance, not for importance.
SMALL = """customer_id,stage,touchpoint,score,Recommend,Tier
C1,Purchase,Till,2,9,Gold
C1,Purchase,Web,1,9,Gold
C2,Purchase,Till,-2,3,Basic
C3,Purchase,Till,0,7,Basic
C4,Purchase,Web,2,10,Gold
C5,Purchase,Till,-1,5,Basic
C5,Purchase,Web,-1,5,Basic
C6,Purchase,Web,1,8,Gold
C7,Purchase,Web,3,,Gold
C1,Delivery,Home,1,9,Gold
C2,Delivery,Home,-3,3,Basic
C3,Delivery,Locker,2,7,Basic
C4,Delivery,Home,-1,10,Gold
"""
NPS = {"C1": 9, "C2": 3, "C3": 7, "C4": 10, "C5": 5, "C6": 8}
PURCHASE = {"C1": 3, "C2": -2, "C3": 0, "C4": 2, "C5": -2, "C6": 1, "C7": 3}
DELIVERY = {"C1": 1, "C2": -3, "C3": 2, "C4": -1}


@pytest.fixture
def small(store, write) -> Store:
    mapping = load_mapping(write("m.toml", '[outcomes]\nnps = { column = "Recommend" }\n'))
    ingest_file(store, write("small.csv", SMALL), mapping=mapping)
    return store


def _row(df: pd.DataFrame, column: str, value: str) -> dict:
    (row,) = df[df[column] == value].to_dict("records")
    return row


def test_correlation_is_spearman_and_performance_the_mean_cell_score(small):
    """Issue 15: importance became the relative weight (tests/test_drivers.py); the Spearman
    correlation stays as the `correlation` column."""
    df = priorities(small, "nps")
    for stage, scores in (("Purchase", PURCHASE), ("Delivery", DELIVERY)):
        row = _row(df, "stage", stage)
        both = [c for c in scores if c in NPS]
        expected = stats.spearmanr([scores[c] for c in both], [NPS[c] for c in both]).statistic
        assert row["correlation"] == pytest.approx(expected)
        assert row["performance"] == pytest.approx(sum(scores.values()) / len(scores))
        assert (row["n"], row["n_outcome"]) == (len(scores), len(both))
    assert df.attrs["method"].startswith("Importance is Johnson's relative weight")


def test_touchpoint_level_carries_the_stage(small):
    df = priorities(small, "nps", level="touchpoint")
    assert set(zip(df["touchpoint"], df["stage"], strict=True)) == {
        ("Till", "Purchase"), ("Web", "Purchase"), ("Home", "Delivery"), ("Locker", "Delivery")
    }  # fmt: skip
    home = _row(df, "touchpoint", "Home")  # C1 +1, C2 -3, C4 -1
    assert home["performance"] == pytest.approx(-1.0)
    assert home["correlation"] == pytest.approx(stats.spearmanr([1, -3, -1], [9, 3, 10]).statistic)


def test_attribute_outcome_with_a_positive_value(small):
    df = priorities(small, "Tier", positive="gold")  # case-insensitive
    gold = {"C1": 1, "C2": 0, "C3": 0, "C4": 1, "C5": 0, "C6": 1, "C7": 1}
    row = _row(df, "stage", "Purchase")
    x = [PURCHASE[c] for c in gold]
    assert row["correlation"] == pytest.approx(stats.spearmanr(x, list(gold.values())).statistic)
    assert row["n_outcome"] == 7


def test_quadrants_split_at_the_medians_and_rank_fixes_first():
    table = pd.DataFrame(
        {
            "stage": ["A", "B", "C", "D", "E"],
            "importance": [0.8, 0.6, 0.3, 0.2, 0.05],
            "performance": [-1.0, 1.0, -0.5, 2.0, -2.0],
        }
    )
    df = classify(table).set_index("stage")
    # medians: importance 0.3, performance -0.5 ("below" is strict, as is "above")
    assert df.attrs["importance_threshold"] == 0.3
    assert df.attrs["performance_threshold"] == -0.5
    assert df["quadrant"].to_dict() == {
        "A": "concentrate_here", "B": "keep_up", "C": "possible_overkill",
        "D": "possible_overkill", "E": "low_priority",
    }  # fmt: skip
    # priority = max(importance, 0) x (threshold - performance): A 0.4, E 0.075, C 0,
    # B -0.9, D -0.5; A first (concentrate_here), then by priority
    assert df["priority"].to_dict() == pytest.approx(
        {"A": 0.4, "B": -0.9, "C": 0.0, "D": -0.5, "E": 0.075}
    )
    assert df.sort_values("rank").index.tolist() == ["A", "E", "C", "D", "B"]
    assert list(classify(table).sort_values("rank")["rank"]) == [1, 2, 3, 4, 5]


def test_concentrate_here_comes_first_even_with_a_smaller_priority():
    table = pd.DataFrame(
        {"stage": ["A", "B", "C", "D"], "importance": [0.5, 0.4, 0.09, 0.6],
         "performance": [-0.1, 0.5, -3.0, 1.0]}
    )  # fmt: skip
    df = classify(table, importance_threshold=0.3, performance_threshold=0.0)
    assert df.attrs["importance_threshold"] == 0.3
    assert df["stage"].tolist() == ["A", "C", "B", "D"]  # C's priority 0.27 > A's 0.05
    assert df["quadrant"].tolist() == ["concentrate_here", "low_priority", "keep_up", "keep_up"]


def test_a_driver_working_against_the_outcome_is_never_concentrate_here():
    table = pd.DataFrame(
        {"stage": ["A", "B", "C"], "importance": [0.5, 0.4, 0.1],
         "performance": [-1.0, -2.0, 1.0], "correlation": [0.6, -0.3, 0.2],
         "shown_to_matter": [True, True, True]}
    )  # fmt: skip
    df = classify(table, importance_threshold=0.3, performance_threshold=0.0).set_index("stage")
    assert df.loc["A", "quadrant"] == "concentrate_here"
    assert df.loc["B", "quadrant"] == "low_priority"  # important by weight, but rho < 0


def test_median_importance_is_at_least_a_small_correlation():
    table = pd.DataFrame(
        {"stage": list("ABCD"), "importance": [0.05, 0.0, -0.1, 0.08],
         "performance": [-1.0, 0.0, 1.0, -2.0]}
    )  # fmt: skip
    df = classify(table)
    assert df.attrs["importance_threshold"] == 0.1
    assert "concentrate_here" not in set(df["quadrant"])


def test_newcombe_matches_the_published_intervals():
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10
    assert newcombe(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert newcombe(9, 10, 3, 10) == pytest.approx((0.1705, 0.8090), abs=5e-5)
    assert newcombe(5, 56, 0, 29) == pytest.approx((-0.0381, 0.1926), abs=5e-5)


def test_moments_of_truth_by_hand(small):
    df = moments_of_truth(small, "nps")
    purchase = _row(df, "stage", "Purchase")
    # disappointed at Purchase: C2 (3), C5 (5), both detractors; others C1 C3 C4 C6: none
    assert (purchase["n_disappointed"], purchase["n_other"]) == (2, 4)
    assert (purchase["risk_disappointed"], purchase["risk_other"]) == (1.0, 0.0)
    assert (purchase["ci_low"], purchase["ci_high"]) == pytest.approx(newcombe(2, 2, 0, 4))
    delivery = _row(df, "stage", "Delivery")  # disappointed C2 (3), C4 (10); others C1, C3
    assert delivery["risk_difference"] == pytest.approx(0.5)
    assert df["risk_difference"].is_monotonic_decreasing
    assert df.attrs["bad"] == "detractor (nps ≤ 6)"


def test_unknown_outcome_level_or_value_is_refused(small):
    with pytest.raises(FilterError, match='unknown outcome "loyalty"; choose from: .*nps'):
        priorities(small, "loyalty")
    with pytest.raises(FilterError, match='unknown level "channel"'):
        priorities(small, "nps", level="channel")  # type: ignore[arg-type]
    with pytest.raises(FilterError, match='"Tier" holds text; say which value'):
        priorities(small, "Tier")
    with pytest.raises(FilterError, match='"Platinum" is not a value of "Tier"'):
        moments_of_truth(small, "Tier", positive="Platinum")


def test_outcome_choices_list_outcomes_first(small):
    assert outcome_choices(small) == {"nps": [], "Tier": ["Basic", "Gold"]}


def test_no_matching_observations_give_empty_tables(small):
    nothing = Filters.build({"study": ["none"]})
    assert priorities(small, "nps", filters=nothing).empty
    assert moments_of_truth(small, "nps", filters=nothing).empty


def test_sample_home_delivery_is_the_priority_and_chatbot_is_not(sample):
    df = priorities(sample, "nps", level="touchpoint")
    home = _row(df, "touchpoint", "Home delivery")
    assert home["quadrant"] == "concentrate_here" and home["rank"] <= 3
    assert home["stage"] == "Delivery"
    assert _row(df, "touchpoint", "Chatbot")["quadrant"] != "concentrate_here"
    assert df["rank"].tolist() == list(range(1, len(df) + 1))


def test_sample_delivery_is_a_moment_of_truth_for_nps(sample):
    df = moments_of_truth(sample, "nps")
    delivery = _row(df, "stage", "Delivery")
    assert delivery["moment_of_truth"]
    assert delivery["risk_difference"] > 0 and delivery["ci_low"] > 0
    assert df.iloc[0]["stage"] == "Delivery"
    assert not _row(df, "stage", "Support")["moment_of_truth"]


def test_priorities_page_shows_the_fix_first_list(sample_db, monkeypatch):
    monkeypatch.setenv("CXDATA_DB", str(sample_db))
    monkeypatch.chdir(ROOT)
    reads: list[tuple[str, str | None, str]] = []  # customer_cells calls: the slow read

    def counted(store, outcome, positive=None, level="stage", filters=None):
        reads.append((outcome, positive, level))
        return customer_cells(store, outcome, positive, level, filters or Filters())

    expected = priorities(Store.open(Settings(lock_timeout_s=5.0), sample_db), "nps")
    table_method = expected.attrs["method"]
    monkeypatch.setattr(priorities_module, "customer_cells", counted)
    at = AppTest.from_file(str(ROOT / "app_pages" / "priorities.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    # One read serves the fix-first list and the moments of truth, and a rerun reads nothing.
    assert reads == [("nps", None, "stage")]
    assert at.dataframe[1].value["stage"].tolist()[0] == "Delivery"  # the moments' table
    at.run()
    assert reads == [("nps", None, "stage")]
    assert at.selectbox(key="priorities_outcome").value == "nps"
    table = at.dataframe[0].value
    assert table.iloc[0]["stage"] == "Delivery" and table.iloc[0]["rank"] == 1
    assert table["importance"].tolist() == pytest.approx(expected["importance"].tolist())
    assert table.iloc[0]["matters"] == "shown to matter"
    hidden = expected.loc[~expected["shown_to_matter"], "stage"].tolist()
    assert hidden  # the sample's unimportant stages (Support among them) do not clear the bar
    (note,) = [shown(m.value) for m in at.markdown if "Not shown to matter" in m.value]
    assert all(stage in note for stage in hidden)
    verdicts = dict(zip(table["stage"], table["matters"], strict=True))
    assert {s for s, v in verdicts.items() if v == "not shown to matter"} == set(hidden)
    assert not set(hidden) & set(table.loc[table["quadrant"] == "Concentrate here", "stage"])
    assert {m.label: m.value for m in at.metric}["Fix first"] == "Delivery"
    assert any("Spearman" in shown(md.value) for md in at.expander[-1].markdown)
    assert any(shown(m.value) == table_method for m in at.markdown)  # the one-sentence method

    at.radio(key="priorities_level").set_value("touchpoint").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["rank"].tolist()[:3] == [1, 2, 3]
    assert "Home delivery" in table["touchpoint"].head(3).tolist()
    home = table[table["touchpoint"] == "Home delivery"].iloc[0]
    assert home["quadrant"] == "Concentrate here" and home["stage"] == "Delivery"
    assert "Home delivery" in " ".join(m.value for m in at.markdown)
    assert reads == [("nps", None, "stage"), ("nps", None, "touchpoint")]

    at.selectbox(key="priorities_outcome").set_value("loyalty_tier").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="priorities_positive_loyalty_tier").value == "Basic"
    table = at.dataframe[0].value
    fix_first = {m.label: m.value for m in at.metric}["Fix first"]
    focus = table[table["quadrant"] == "Concentrate here"]
    assert fix_first == (focus.iloc[0]["touchpoint"] if len(focus) else "nothing urgent")


def test_cli_priorities_contract(sample_db, capsys):
    from cxdata.cli import main

    code = main(["priorities", "--db", str(sample_db), "--outcome", "nps", "--level",
                 "touchpoint", "--json"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(rows[0]) >= {"touchpoint", "importance", "performance", "quadrant", "rank"}
    assert rows[0]["touchpoint"] == "Home delivery" and rows[0]["rank"] == 1
    assert main(["priorities", "--db", str(sample_db), "--outcome", "shoe_size"]) == 2
    code = main(["priorities", "--db", str(sample_db), "--outcome", "nps"])
    out = capsys.readouterr().out
    assert code == 0 and "moment of truth: Delivery" in out
    # a difference of two risks in percentage points, never "+59%" (reads as relative)
    assert re.search(
        r"moment of truth: Delivery: the risk of the bad outcome is \d+% for disappointed "
        r"customers against \d+% for the others: \+\d+ percentage points "
        r"\(95% CI \+\d+ to \+\d+\)",
        out,
    )
