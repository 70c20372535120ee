"""Observer agreement: alpha equals the krippendorff package's, its bootstrap interval,
percent agreement and Gwet's AC1 by hand, the largest disagreements with values and notes,
observer bias flags (power and false flags over many seeds), coverage, the CLI's JSON."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from cxdata.analysis import alpha as a
from cxdata.analysis.agreement import agreement, coverage, observer_values
from cxdata.analysis.filters import Filters
from cxdata.analysis.observer_bias import observer_bias
from cxdata.cli import main
from cxdata.ingest import ingest_file

HEADER = "customer_id,stage,touchpoint,interaction,score,observer,note\n"


def generated(seed: int, units: int = 150, observers: int = 5, harsh: float = 0.0):
    """Units scored by 2-3 of `observers` (truth + noise in -3..3); observer O0 is harsher
    by `harsh`. Returns the CSV rows and the observers x units reliability matrix."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(-3, 4, units)
    matrix = np.full((observers, units), np.nan)
    rows = []
    stages = ["Browse", "Purchase", "Delivery"]
    for u in range(units):
        who = rng.choice(observers, size=rng.integers(2, 4), replace=False)
        for o in who:
            value = np.clip(truth[u] + rng.integers(-1, 2) - (harsh if o == 0 else 0), -3, 3)
            matrix[o, u] = value
            rows.append(f"C{u},{stages[u % 3]},T{u % 2},I{u},{value},O{o},note {u}-{o}")
    return rows, matrix


@pytest.mark.parametrize("metric", ["interval", "ordinal", "nominal"])
def test_alpha_equals_the_package_on_generated_double_codings(store, write, metric):
    rows, matrix = generated(seed=3)
    # a single-coded unit too: not pairable, so it must not change alpha
    ingest_file(store, write("g.csv", HEADER + "\n".join([*rows, "Z,Browse,T0,I0,3,O1,x"]) + "\n"))
    report = agreement(store, metric=metric)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=metric)
    assert report.overall["alpha"] == pytest.approx(expected, abs=1e-12)
    assert report.overall["units"] == 150
    assert report.overall["values"] == int(np.sum(~np.isnan(matrix)))
    assert report.overall["ci_low"] < report.overall["alpha"] < report.overall["ci_high"]
    browse = report.by.set_index("stage").loc["Browse"]
    cols = [u for u in range(150) if u % 3 == 0]
    want = krippendorff.alpha(reliability_data=matrix[:, cols], level_of_measurement=metric)
    assert browse["alpha"] == pytest.approx(want, abs=1e-12) and browse["units"] == 50


def test_bootstrap_interval_is_seeded_and_covers_alpha():
    _, matrix = generated(seed=5, units=300)
    unit, who = np.nonzero(~np.isnan(matrix.T))
    c = a.Coincidences.of(unit, matrix.T[unit, who])
    first = a.bootstrap(c, "interval", seed=1)
    assert first == a.bootstrap(c, "interval", seed=1)
    assert first != a.bootstrap(c, "interval", seed=2)
    assert first[0] < a.alpha(c) < first[1] and first[1] - first[0] < 0.15
    # all weights one: the coincidence route gives the package's alpha (interval and ordinal)
    total = np.asarray(a._unit_coincidences(c).sum(axis=0)).reshape(1, len(c.domain), -1)
    for metric in ("interval", "ordinal"):
        mine = a.alpha_from_coincidences(total, c.domain, metric)[0]
        assert mine == pytest.approx(a.alpha(c, metric), abs=1e-12)


def test_percent_agreement_and_ac1_by_hand():
    # 10 units, two observers: 8 agree on 0, one pair (0, 1), one pair (1, 1).
    unit = np.repeat(np.arange(10), 2)
    value = np.array([0, 0] * 8 + [0, 1, 1, 1], dtype=float)
    c = a.Coincidences.of(unit, value)
    assert a.percent_agreement(c) == pytest.approx(0.9)
    # pi_1 = (0.5 + 1) / 10 = 0.15, pi_0 = 0.85; pe = 2 * 0.15 * 0.85 / 1 = 0.255
    assert a.gwet_ac1(c) == pytest.approx((0.9 - 0.255) / (1 - 0.255))
    assert a.dominant_share(c) == pytest.approx(17 / 20)
    # alpha collapses where AC1 does not
    assert a.alpha(c, "nominal") < a.gwet_ac1(c)


def test_reading():
    assert a.reading(0.67) == "α = 0.67: tentative; below the 0.80 usually required"
    assert a.reading(0.85).startswith("α = 0.85: reliable")
    assert "unreliable" in a.reading(0.4)


def test_largest_disagreements_show_values_and_notes(store, write):
    rows = [
        "A,Purchase,Till,,-3,Ann,rude cashier",
        "A,Purchase,Till,,2,Bob,fine",
        "B,Purchase,Till,,1,Ann,ok",
        "B,Purchase,Till,,1,Bob,ok",
        "C,Purchase,Web,,1,Ann,x",
        "C,Purchase,Web,,-1,Ann,y",
        "C,Purchase,Web,,1,Bob,z",
    ]
    ingest_file(store, write("d.csv", HEADER + "\n".join(rows) + "\n"))
    values = observer_values(store)
    assert len(values) == 6  # three units x two observers
    ann_c = values[(values["customer_id"] == "C") & (values["observer"] == "Ann")].iloc[0]
    assert ann_c["value"] == 0 and ann_c["observations"] == 2
    top = agreement(store, resamples=200).disagreements
    first = top.iloc[0]
    assert first["customer_id"] == "A" and first["spread"] == 5
    assert first["values"] == {"Ann": -3.0, "Bob": 2.0}
    assert first["notes"] == {"Ann": "rude cashier", "Bob": "fine"}
    assert list(top["spread"]) == [5.0, 1.0, 0.0]
    cov = coverage(store).set_index("observer")
    assert cov.loc["Ann", "observations"] == 4 and cov.loc["Ann", "customers"] == 3
    only_ann = agreement(store, filters=Filters.build({"observer": ["Ann"]}), resamples=50)
    assert only_ann.overall["units"] == 0 and np.isnan(only_ann.overall["alpha"])


def _values(rng, units, observers, harsh=None, bias=-1.0):
    rows = []
    for u in range(units):
        truth = rng.normal()
        for o in rng.choice(observers, size=2, replace=False):
            shift = bias if o == harsh else 0.0
            rows.append((u, f"O{o}", truth + shift + rng.normal(scale=0.8)))
    return pd.DataFrame(rows, columns=["unit", "observer", "value"])


def test_a_harsh_observer_is_flagged_and_an_unbiased_one_is_not():
    found, false_flags, unbiased, estimates, spill = 0, 0, 0, [], []
    for seed in range(100):
        # O0 is harsher by one point; O1..O4 share units with O0 and with each other
        table = observer_bias(_values(np.random.default_rng(seed), 240, 5, harsh=0))
        table = table.set_index("observer")
        found += bool(table.loc["O0", "flagged"]) and table.loc["O0", "bias"] < 0
        estimates.append(table.loc["O0", "bias"])
        innocent = table.drop(index="O0")
        false_flags += int(innocent["flagged"].sum())
        unbiased += len(innocent)
        spill.append(innocent["mean_diff"].mean())
    assert found >= 95  # power: found in (almost) every seed
    assert false_flags / unbiased <= 0.05
    assert np.mean(estimates) == pytest.approx(-1.0, abs=0.05)
    # the plain "value minus the others' mean" would have blamed O0's colleagues
    assert np.mean(spill) > 0.2


def test_false_flag_rate_without_any_biased_observer():
    flags = observers = 0
    for seed in range(200):
        table = observer_bias(_values(np.random.default_rng(seed), 200, 6))
        flags += int(table["flagged"].sum())
        observers += len(table)
    assert flags / observers <= 0.05
    tested = table[~table["reference"]]
    assert (tested["ci_level"] == 1 - 0.05 / 5).all()  # nothing selected: 1 - q/m, m = 5


def test_flagged_exactly_when_the_adjusted_interval_excludes_zero():
    table = observer_bias(_values(np.random.default_rng(1), 300, 5, harsh=2, bias=-0.5))
    excludes = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    assert (table["flagged"] == excludes).all()
    assert table.loc[table["flagged"], "q_value"].le(0.05).all()
    assert table.set_index("observer").loc["O2", "flagged"]


def test_cli_json(store, write, capsys):
    rows, _ = generated(seed=7, units=60, harsh=2.0)
    ingest_file(store, write("g.csv", HEADER + "\n".join(rows) + "\n"))
    code = main(["agreement", "--db", str(store.path), "--by", "touchpoint", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"overall", "by", "observers", "disagreements"}
    assert {"alpha", "ci_low", "ci_high", "units", "values", "percent_agreement"} <= set(
        out["overall"]
    )
    assert out["overall"]["units"] == 60
    assert {"touchpoint", "alpha", "ci_low", "ci_high", "units"} <= set(out["by"][0])
    assert sum(r["units"] for r in out["by"]) == 60
    o0 = next(r for r in out["observers"] if r["observer"] == "O0")
    assert set(o0) == {"observer", "bias", "ci_low", "ci_high", "units", "flagged"}
    assert o0["flagged"] and o0["bias"] < -1
    assert out["disagreements"][0]["values"] and out["disagreements"][0]["notes"]


def test_cli_refuses_an_unknown_metric_and_filter(store, capsys):
    assert main(["agreement", "--db", str(store.path), "--where", "nosuch=1"]) == 2
    assert "nosuch" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from cxdata.config import Settings
    from cxdata.sample.load import load_sample
    from cxdata.store import Store

    store = Store.open(Settings(), tmp_path_factory.mktemp("sample") / "s.duckdb")
    load_sample(store)
    return store


def test_the_analysis_finds_the_samples_harsh_observer(sample_store):
    from cxdata.sample import STAGES
    from cxdata.sample.calibration import CALIBRATION_METHOD, HARSH_BY, HARSH_OBSERVER

    report = agreement(sample_store)
    assert list(report.by["stage"]) == list(STAGES)  # journey order
    bias = report.observers.set_index("observer")
    assert list(bias.index[bias["flagged"]]) == [HARSH_OBSERVER]
    harsh = bias.loc[HARSH_OBSERVER]
    assert harsh["ci_low"] < -HARSH_BY * 0.8 and harsh["ci_high"] > -HARSH_BY * 1.2
    assert harsh["bias"] == pytest.approx(-HARSH_BY, abs=0.15)
    recodes = Filters.build({"method": [CALIBRATION_METHOD]})
    assert report.overall["units"] == len(observer_values(sample_store)) // 2
    assert report.overall["units"] == agreement(sample_store, resamples=10).overall["units"]
    assert 0.8 <= report.overall["alpha"] <= 0.95  # noise of +-1 on 30% of the re-codes
    # the re-codes alone have no second observer: nothing pairable
    assert agreement(sample_store, filters=recodes, resamples=10).overall["units"] == 0


def test_the_samples_recoded_units_count_once(sample_store):
    from cxdata.analysis.scoring import stage_scores
    from cxdata.sample import SAMPLE_DIR
    from cxdata.sample.calibration import without_recodes

    retail = pd.read_csv(SAMPLE_DIR / "retail_store_visits.csv")
    study = Filters.build({"study": ["Retail store visits"]})
    got = stage_scores(sample_store, filters=study).set_index("stage")
    keys = ["customer_id", "stage", "touchpoint", "interaction"]
    per_observer = retail.groupby([*keys, "observer"], dropna=False)["score"].sum()
    unit = per_observer.groupby(level=keys, dropna=False).mean()
    cells = unit.groupby(level=["customer_id", "stage"]).sum()
    want = cells.groupby(level="stage").mean()
    for stage, mean in want.items():
        assert got.loc[stage, "mean_score"] == pytest.approx(mean)
    assert got["n_observations"].sum() == len(retail)  # every recorded row still counted
    summed = without_recodes(retail).groupby(["customer_id", "stage"])["score"].sum()
    assert not np.allclose(cells.sort_index(), summed.sort_index())  # the rule did something
