"""Observer bias on double-coded units (pure: observers' values per unit in, a table out).

Per observer, over the units they coded together with at least one other observer: the
difference between their value and the mean of the other observers' values on that unit.
Its mean is the observer's bias (negative: harsher than their colleagues). One procedure
per observer, as in `cxdata.analysis.compare`: a one-sample t-test of the differences gives
the p-value and, from the same statistic, the interval; Benjamini-Hochberg over every
observer tested selects R of m; every interval is reported at the Benjamini-Yekutieli level
1 - max(R, 1) * 0.05 / m, and an observer is flagged exactly when it excludes 0.

An observer who often shares units with a biased colleague inherits a small difference of
the opposite sign (the colleague is part of "the others"); the flag of the biased observer
is the one to act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.compare import FDR_LEVEL, adjusted_level

MIN_UNITS = 2  # a t interval needs two differences
BIAS_FIELDS = ["observer", "bias", "ci_low", "ci_high", "ci_level", "units", "p_value",
               "q_value", "flagged"]  # fmt: skip
METHOD = (
    "Bias: per observer, the mean over the units they double-coded of their value minus the "
    "other observers' mean value on the unit (negative: harsher). Each observer is tested "
    "with a one-sample t-test whose interval comes from the same statistic; Benjamini-Hochberg "
    "over all observers tested (q = 0.05) selects R of m; the intervals are the "
    "Benjamini-Yekutieli false-coverage-rate adjusted intervals at level 1 - max(R, 1) x 0.05 "
    "/ m, and an observer is flagged exactly when that interval excludes 0."
)


def differences(values: pd.DataFrame) -> pd.DataFrame:
    """observer, unit, diff: each value minus the other observers' mean on its unit
    (`values`: unit, observer, value; one row per observer and unit)."""
    grouped = values.groupby("unit")["value"]
    total, count = grouped.transform("sum"), grouped.transform("count")
    shared = values[count >= 2]
    total, count = total[count >= 2], count[count >= 2]
    others = (total - shared["value"]) / (count - 1)
    return pd.DataFrame(
        {"observer": shared["observer"], "unit": shared["unit"], "diff": shared["value"] - others}
    )


def observer_bias(values: pd.DataFrame) -> pd.DataFrame:
    """One row per observer (BIAS_FIELDS), most biased first (by |bias|)."""
    diffs = differences(values)
    rows = []
    for observer, group in diffs.groupby("observer", sort=True):
        d = group["diff"].to_numpy(float)
        rows.append({"observer": observer, "bias": float(d.mean()), "units": len(d), "_d": d})
    df = pd.DataFrame(rows, columns=["observer", "bias", "units", "_d"])
    tested = df["units"] >= MIN_UNITS
    for column in ("ci_low", "ci_high", "ci_level", "p_value", "q_value"):
        df[column] = np.nan
    if tested.any():
        results = [_t(d) for d in df.loc[tested, "_d"]]
        p = np.array([r[0] for r in results])
        q = stats.false_discovery_control(p, method="bh")
        level = adjusted_level(int(np.sum(q <= FDR_LEVEL)), len(p))
        intervals = np.array([r[1](level) for r in results])
        df.loc[tested, "p_value"], df.loc[tested, "q_value"] = p, q
        df.loc[tested, "ci_low"], df.loc[tested, "ci_high"] = intervals[:, 0], intervals[:, 1]
        df.loc[tested, "ci_level"] = level
    df["flagged"] = (df["ci_low"] > 0) | (df["ci_high"] < 0)
    df = df.drop(columns="_d")
    order = df["bias"].abs().sort_values(ascending=False, kind="stable").index
    return df.loc[order, BIAS_FIELDS].reset_index(drop=True)


def _t(d: np.ndarray):  # type: ignore[no-untyped-def]
    """(p-value, interval(level)) of the one-sample t-test of mean(d) = 0; without variation
    the limit: p = 0 (or 1 at a mean of 0) and a point interval."""
    mean = float(d.mean())
    if not np.ptp(d):
        return (0.0 if mean else 1.0), (lambda level: (mean, mean))
    result = stats.ttest_1samp(d, 0.0)

    def interval(level: float) -> tuple[float, float]:
        ci = result.confidence_interval(level)
        return float(ci.low), float(ci.high)

    return float(result.pvalue), interval
