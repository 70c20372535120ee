"""The unit rule: a unit coded by several observers counts once (the mean of the observers'
sums) in scores, comparisons and persona features; data without double coding is untouched."""

from __future__ import annotations

import pytest

from cxdata.analysis import units
from cxdata.analysis.filters import Filters
from cxdata.analysis.scoring import stage_scores
from cxdata.ingest import ingest_file
from cxdata.personas.features import customer_features

HEADER = "customer_id,stage,touchpoint,interaction,score,observer,note\n"
# A's Till unit at Purchase: Ann's value -1 + -2 = -3, Bob's value -1 -> unit score -2.
# A's Web unit: Ann alone, +1. B: Bob alone at Till, +2; B's Web has no touchpoint twice
# coded: Ann +2, Bob +1 -> 1.5 (a missing touchpoint is a unit value of its own).
ROWS = [
    "A,Purchase,Till,,-1,Ann,queue",
    "A,Purchase,Till,,-2,Ann,card reader",
    "A,Purchase,Till,,-1,Bob,queue",
    "A,Purchase,Web,,1,Ann,ok",
    "B,Purchase,Till,,2,Bob,quick",
    "B,Purchase,,,2,Ann,nice",
    "B,Purchase,,,1,Bob,fine",
]


@pytest.fixture
def coded(store, write):
    ingest_file(store, write("coded.csv", HEADER + "\n".join(ROWS) + "\n"))
    return store


def test_double_coded_units_count_once_in_scores(coded):
    assert units.double_coded(coded)
    row = stage_scores(coded).iloc[0]
    # A: -2 (Till, mean of -3 and -1) + 1 (Web) = -1; B: 2 + 1.5 = 3.5
    assert row["mean_score"] == pytest.approx((-1 + 3.5) / 2)
    assert row["n_customers"] == 2 and row["n_observations"] == 7  # recorded rows
    assert row["mean_negative"] == pytest.approx((-2 + 0) / 2)
    assert row["mean_positive"] == pytest.approx((1 + 3.5) / 2)
    by_tp = stage_scores(coded, ["touchpoint"]).set_index("touchpoint")
    assert by_tp.loc["Till", "mean_score"] == pytest.approx((-2 + 2) / 2)


def test_an_observer_cell_keeps_that_observers_own_values(coded):
    by_obs = stage_scores(coded, ["observer"]).set_index("observer")
    assert by_obs.loc["Ann", "mean_score"] == pytest.approx((-3 + 1 + 2) / 2)  # A: -2, B: 2
    assert by_obs.loc["Bob", "mean_score"] == pytest.approx((-1 + 3) / 2)  # A: -1, B: 3
    only_bob = stage_scores(coded, filters=Filters.build({"observer": ["Bob"]})).iloc[0]
    assert only_bob["mean_score"] == pytest.approx(1.0)


def test_persona_features_count_units_once(coded):
    frame = customer_features(coded, attributes=[]).frame
    assert frame.loc["A", "score__Purchase"] == pytest.approx(-1)
    assert frame.loc["B", "score__Purchase"] == pytest.approx(3.5)
    # A: Till 2 rows (Ann) and 1 (Bob) -> 1.5, Web 1; B: Till 1, no touchpoint 1 and 1 -> 1
    assert frame.loc["A", "n__Purchase"] == pytest.approx(2.5)
    assert frame.loc["B", "n__Purchase"] == pytest.approx(2.0)


def test_single_coded_data_is_summed_as_before(store, write):
    rows = [r.replace(",Bob,", ",Ann,") for r in ROWS]  # one observer: nothing double-coded
    ingest_file(store, write("single.csv", HEADER + "\n".join(rows) + "\n"))
    assert not units.double_coded(store)
    row = stage_scores(store).iloc[0]
    assert row["mean_score"] == pytest.approx((-3 + 5) / 2)  # A: -4 + 1; B: 2 + 3
    # The rule itself changes nothing without double coding.
    with store.ibis() as backend:
        obs = backend.table("observations")
        once = units.counted_once(obs).score.sum().execute()
        assert once == pytest.approx(obs.score.sum().execute())


def test_the_check_follows_new_data(coded, write):
    assert units.double_coded(coded)
    rows = "C,Delivery,Door,,1,Ann,x\n"
    ingest_file(coded, write("more.csv", HEADER + rows))
    assert units.double_coded(coded)  # a new data version is checked again
