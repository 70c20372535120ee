"""Key drivers that survive collinearity: Johnson's relative weights on generated items
(tests/planted.py) imported as a wide survey, checked against the published worked example,
an independent regression and the planted truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from cxdata.analysis.driver_bootstrap import linear_weights, logistic_weights, resample_counts
from cxdata.analysis.drivers import (
    design,
    key_drivers,
    relative_weights,
    weights_from_correlations,
)
from cxdata.analysis.priorities import priorities, resplit
from cxdata.cli import main
from cxdata.ingest import ingest_file, load_mapping
from cxdata.store import Store
from tests import planted

ITEMS = planted.DRIVER_ITEMS
DRIVERS = ITEMS[:5]  # the four halo items and the unique one; Irrelevant is not a driver


def test_worked_example_of_iopsych_relwt():
    """The example of R's iopsych::relWt (Jones & Goebl), whose output is published."""
    r = np.array([[1.0, 0.2, 0.3, 0.4, -0.4], [0.2, 1.0, 0.5, 0.1, 0.1],
                  [0.3, 0.5, 1.0, 0.2, -0.3], [0.4, 0.1, 0.2, 1.0, 0.4],
                  [-0.4, 0.1, -0.3, 0.4, 1.0]])  # fmt: skip
    weights = weights_from_correlations(r[:4, :4], r[:4, 4])
    assert weights == pytest.approx([0.24066119, 0.05492664, 0.12143476, 0.28158189], abs=1e-8)
    r2 = r[:4, 4] @ np.linalg.solve(r[:4, :4], r[:4, 4])
    assert weights.sum() == pytest.approx(r2)


def _survey(store: Store, write, binary: bool) -> pd.DataFrame:
    frame = planted.collinear_drivers(binary=binary)
    mapping = load_mapping(write("m.toml", planted.mapping(ITEMS, "outcome")))
    ingest_file(store, write("drivers.csv", frame.to_csv(index=False)), mapping=mapping)
    return frame


@pytest.mark.parametrize("binary", [False, True], ids=["linear", "logistic"])
def test_unique_driver_recovered_where_correlation_ranks_it_last(store, write, binary):
    frame = _survey(store, write, binary)
    df = priorities(store, "outcome", level="touchpoint").set_index("touchpoint")
    assert set(df["method"]) == {f"relative weight ({'logistic' if binary else 'linear'})"}
    drivers = df.loc[DRIVERS]
    # Correlation puts the unique driver last of the five; relative weights put it first,
    # well above each halo item (which only repeat one another).
    assert drivers["correlation"].idxmin() == "Unique"
    assert drivers["importance"].idxmax() == "Unique"
    assert drivers.loc["Unique", "importance"] > 1.5 * drivers["importance"].drop("Unique").max()
    assert drivers["shown_to_matter"].all()
    # The irrelevant item performs worst but is not shown to matter, so it is not a priority.
    irrelevant = df.loc["Irrelevant"]
    assert irrelevant["performance"] == df["performance"].min()
    assert not irrelevant["shown_to_matter"] and irrelevant["vs_reference_ci_low"] <= 0
    assert irrelevant["quadrant"] != "concentrate_here"
    assert (df.loc[df["quadrant"] == "concentrate_here", "shown_to_matter"]).all()
    # Spearman is kept beside it, over the customers who rated the item.
    rated = frame[frame["Irrelevant"] > 0]
    rho = planted.to_score(rated["Irrelevant"]).corr(rated["outcome"], method="spearman")
    assert irrelevant["correlation"] == pytest.approx(rho)
    assert irrelevant["n_outcome"] == len(rated)


def _ols_r2(x: np.ndarray, y: np.ndarray) -> float:
    with_constant = np.column_stack([np.ones(len(x)), x])
    fitted = with_constant @ np.linalg.lstsq(with_constant, y, rcond=None)[0]
    return float(1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2))


def _independent_r2(frame: pd.DataFrame, binary: bool) -> float:
    """The model's R² by another route (least squares, or scikit-learn's unpenalised
    logistic regression) on the same columns: items at their mean where not rated, 'not
    rated' indicators, the seeded reference item."""
    wide = planted.to_score(frame[ITEMS].replace(0, np.nan)).astype(float)
    wide.index = frame["id"]
    x = design(wide.sort_index(axis=1), seed=0).x
    y = frame.set_index("id")["outcome"].to_numpy(float)
    if not binary:
        return _ols_r2(x, y)
    model = LogisticRegression(C=np.inf, max_iter=5000, tol=1e-10).fit(x, y)
    fitted = model.predict_proba(x)[:, 1]
    return float(np.corrcoef(y, fitted)[0, 1] ** 2)


@pytest.mark.parametrize("binary", [False, True], ids=["linear", "logistic"])
def test_weights_sum_to_the_models_r2(store, write, binary):
    frame = _survey(store, write, binary)
    df = priorities(store, "outcome", level="touchpoint")
    total = df["importance"].sum() + df.attrs["pattern_weight"] + df.attrs["reference_weight"]
    assert total == pytest.approx(df.attrs["r2"], abs=1e-9)
    assert df.attrs["r2"] == pytest.approx(_independent_r2(frame, binary), abs=1e-4)
    assert df.attrs["r2_name"] == ("pseudo-R² (R²_O)" if binary else "R²")
    # Gaps at random carry (almost) nothing; the reference item is noise.
    assert 0 <= df.attrs["pattern_weight"] < 0.01 and df.attrs["reference_weight"] < 0.01


def test_bootstrap_is_seeded_and_brackets_the_weight(store, write):
    _survey(store, write, False)
    first = priorities(store, "outcome", level="touchpoint")
    again = priorities(store, "outcome", level="touchpoint")
    pd.testing.assert_frame_equal(first, again)
    assert first.attrs["resamples"] >= 200
    lo, hi = first["importance_ci_low"], first["importance_ci_high"]
    assert ((lo <= first["importance"]) & (first["importance"] <= hi)).all()
    assert "bootstrap" in first.attrs["method"] and "Johnson" in first.attrs["method"]


def test_quadrants_split_at_the_mean_weight_or_the_median(store, write):
    _survey(store, write, False)
    df = priorities(store, "outcome", level="touchpoint")
    mean = df["importance"].mean()
    assert df.attrs["importance_threshold"] == pytest.approx(mean)
    assert mean == pytest.approx(df["importance"].sum() / len(ITEMS))  # the 1/items share
    assert df.attrs["performance_threshold"] == pytest.approx(df["performance"].mean())
    important = set(df.loc[df["quadrant"].isin(["concentrate_here", "keep_up"]), "touchpoint"])
    assert important == set(df.loc[df["importance"] > mean, "touchpoint"])
    median = resplit(df, "median")
    assert median.attrs["importance_threshold"] == pytest.approx(df["importance"].median())
    assert median.attrs["performance_threshold"] == df.attrs["performance_threshold"]
    assert priorities(store, "outcome", level="touchpoint", split="median")[
        ["touchpoint", "quadrant", "rank"]
    ].equals(median[["touchpoint", "quadrant", "rank"]])


def test_key_drivers_without_gaps_has_no_pattern_weight():
    frame = planted.collinear_drivers(n=400)
    wide = planted.to_score(frame[DRIVERS]).astype(float)
    found = key_drivers(wide, frame["outcome"], logistic=False, resamples=50)
    assert found.pattern_weight == 0.0
    r2 = _ols_r2(design(wide, 0).x, frame["outcome"].to_numpy(float))
    assert found.table["importance"].sum() + found.reference_weight == pytest.approx(r2)


def test_cli_priorities_rows_and_help(store, write, capsys):
    _survey(store, write, True)
    code = main(["priorities", "--db", str(store.path), "--outcome", "outcome", "--level",
                 "touchpoint", "--json"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"importance_ci_low", "importance_ci_high", "correlation", "method",
            "shown_to_matter", "rank"} <= set(rows[0])  # fmt: skip
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert main(["priorities", "--db", str(store.path), "--outcome", "outcome", "--level",
                 "touchpoint"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "not shown to matter: Irrelevant" in out and "pseudo-R²" in out
    with pytest.raises(SystemExit):
        main(["priorities", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for term in ("Johnson's relative weight", "bootstrap", "item's mean", "'not rated' indicator",
                 "random reference item", "Bonferroni", "--split"):  # fmt: skip
        assert term in help_text, term


def _refits(x: np.ndarray, y: np.ndarray, counts: np.ndarray, logistic: bool) -> np.ndarray:
    """Each resample copied and refitted from scratch: what the sums must reproduce."""
    picks = [np.repeat(np.arange(len(y)), c) for c in counts]
    return np.stack([relative_weights(x[p], y[p], logistic)[0] for p in picks])


@pytest.mark.parametrize("binary", [False, True], ids=["linear", "logistic"])
def test_bootstrap_from_sums_matches_refitting_each_resample(binary):
    frame = planted.collinear_drivers(n=3000, binary=binary)
    wide = planted.to_score(frame[ITEMS].replace(0, np.nan)).astype(float)
    x, y = design(wide, 0).x, frame["outcome"].to_numpy(float)
    counts = resample_counts(len(y), 40, np.random.default_rng(1))
    assert (counts.sum(axis=1) == len(y)).all()
    refit = _refits(x, y, counts, binary)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    if not binary:  # exact: the same sums, added in another order
        fast = linear_weights(z, (y - y.mean()) / y.std(), counts)
        assert np.abs(fast - refit).max() < 1e-10
        return
    start = LogisticRegression(C=np.inf, max_iter=5000, tol=1e-10).fit(z, y)
    coef = np.concatenate([start.intercept_, start.coef_[0]])
    fast = logistic_weights(z, y, coef, counts)
    # One Newton step: within a small part of the bootstrap spread of each driver.
    spread = refit[:, :5].std(axis=0)
    assert (np.abs(fast - refit)[:, :5].max(axis=0) < 0.15 * spread).all()
