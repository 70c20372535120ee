"""Observer bias on double-coded units (pure: observers' values per unit in, a table out).

The model: an observer's value on a unit is the unit's own level plus the observer's
effect plus noise (two-way fixed effects, fitted by least squares on the units coded by two
or more observers; the unit levels drop out when each value is taken relative to its unit's
mean). Each observer's `bias` is their effect minus the typical observer's (the observer
whose effect is the median; negative: harsher). Why not "their value minus the other
observers' mean" on its own: every colleague of a harsh observer would then look lenient
(the harsh one is among "the others"), and with enough units be flagged for it; the model
and the median reference keep one harsh observer from implicating the rest. `mean_diff`
still shows that raw difference, as a description.

One procedure per observer, as in `cxdata.analysis.compare`: the t-test of the contrast
gives the p-value and, from the same statistic, the interval; Benjamini-Hochberg over every
observer tested selects R of m; every interval is reported at the Benjamini-Yekutieli
level 1 - max(R, 1) * 0.05 / m, and an observer is flagged exactly when it excludes 0.
With only two observers the model cannot say which of them is off: the difference between
them is shown, and neither is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats

from cxdata.analysis.counted_stats import FDR_LEVEL, adjusted_level

BIAS_FIELDS = ["observer", "bias", "ci_low", "ci_high", "ci_level", "units", "mean_diff",
               "p_value", "q_value", "flagged", "reference"]  # fmt: skip
METHOD = (
    "Bias: per observer, their effect minus the typical (median) observer's, from a two-way "
    "model of the double-coded values (unit + observer, least squares; negative: harsher). "
    "mean_diff is the plain mean of their value minus the other observers' mean on the same "
    "units, which makes the colleagues of a harsh observer look lenient. Each observer is "
    "tested with the t-test of their contrast, whose interval comes from the same statistic; "
    "Benjamini-Hochberg over all observers tested (q = 0.05) selects R of m; the intervals "
    "are the Benjamini-Yekutieli false-coverage-rate adjusted intervals at level 1 - max(R, 1) "
    "x 0.05 / m, and an observer is flagged exactly when that interval excludes 0. With two "
    "observers only their difference is known, and neither is flagged."
)


def shared_values(values: pd.DataFrame) -> pd.DataFrame:
    """The rows of units coded by two or more observers (`values`: unit, observer, value;
    one row per observer and unit)."""
    count = values.groupby("unit")["value"].transform("count")
    return values[count >= 2].reset_index(drop=True)


def mean_differences(values: pd.DataFrame) -> pd.Series:
    """Per observer: mean over their units of their value minus the others' mean there."""
    shared = shared_values(values)
    grouped = shared.groupby("unit")["value"]
    total, count = grouped.transform("sum"), grouped.transform("count")
    diff = shared["value"] - (total - shared["value"]) / (count - 1)
    return diff.groupby(shared["observer"]).mean()


def _fit(shared: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Observers, their effects (sum to zero), the effects' covariance and the residual
    degrees of freedom of the two-way model, fitted within units."""
    who, observers = pd.factorize(shared["observer"], sort=True)
    unit, units = pd.factorize(shared["unit"])
    n, k, u = len(shared), len(observers), len(units)
    a = sparse.csr_matrix((np.ones(n), (np.arange(n), who)), shape=(n, k))
    in_unit = sparse.csr_matrix((np.ones(n), (np.arange(n), unit)), shape=(n, u))
    size = np.asarray(in_unit.sum(axis=0)).ravel()
    x = (a - in_unit @ sparse.diags(1.0 / size) @ (in_unit.T @ a)).toarray()
    y = shared["value"].to_numpy(float)
    y = y - (in_unit @ ((in_unit.T @ y) / size))
    xtx_inv = np.linalg.pinv(x.T @ x)
    effects = xtx_inv @ x.T @ y
    effects -= effects.mean()
    df = n - u - (k - 1)
    rss = float(np.sum((y - x @ effects) ** 2))
    sigma2 = rss / df if df > 0 else float("nan")
    return [str(o) for o in observers], effects, sigma2 * xtx_inv, df


def observer_bias(values: pd.DataFrame) -> pd.DataFrame:
    """One row per observer with double-coded units (BIAS_FIELDS), most biased first."""
    shared = shared_values(values)
    if shared.empty:
        return pd.DataFrame(columns=BIAS_FIELDS)
    observers, effects, cov, df = _fit(shared)
    units = shared.groupby("observer")["unit"].nunique()
    ref = int(np.argmin(np.abs(effects - np.median(effects))))
    e = np.eye(len(observers))
    contrasts = e - e[ref]
    bias = contrasts @ effects
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", contrasts, cov, contrasts), 0.0))
    table = pd.DataFrame({
        "observer": observers, "bias": bias, "units": units.reindex(observers).to_numpy(),
        "mean_diff": mean_differences(values).reindex(observers).to_numpy(),
        "reference": [i == ref for i in range(len(observers))],
    })  # fmt: skip
    for column in ("ci_low", "ci_high", "ci_level", "p_value", "q_value"):
        table[column] = np.nan
    tested = ~table["reference"] & (len(observers) > 2) & (df > 0)
    tested &= np.isfinite(se) & (se > 0)
    if tested.any():
        t = bias[tested] / se[tested]
        p = 2 * stats.t.sf(np.abs(t), df)
        q = stats.false_discovery_control(p, method="bh")
        level = adjusted_level(int(np.sum(q <= FDR_LEVEL)), len(p))
        half = stats.t.ppf(0.5 + level / 2, df) * se[tested]
        table.loc[tested, "ci_low"] = bias[tested] - half
        table.loc[tested, "ci_high"] = bias[tested] + half
        table.loc[tested, "ci_level"] = level
        table.loc[tested, "p_value"], table.loc[tested, "q_value"] = p, q
    table["flagged"] = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    order = table["bias"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order, BIAS_FIELDS].reset_index(drop=True)
