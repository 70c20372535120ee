"""Moments of truth: where a disappointing experience (cell score < 0) raises the risk of
the bad outcome, with Newcombe's interval of the risk difference. Counted from the same
customer cells as the priorities (`priorities.customer_cells`), so every customer counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.priorities import CustomerCells, Level, Outcome, customer_cells, key_tuple
from cxdata.engine import Engine

MOMENT_METHOD = (
    "risk of the bad outcome when disappointed there (score < 0) minus the risk otherwise, "
    "95% Newcombe hybrid score interval from Wilson intervals (scipy.stats.binomtest)"
)


def newcombe(bad1: int, n1: int, bad2: int, n2: int, level: float = 0.95) -> tuple[float, float]:
    """95% interval of p1 - p2 (Newcombe's hybrid score method, his method 10), from the
    Wilson intervals of each proportion."""
    l1, u1 = stats.binomtest(bad1, n1).proportion_ci(level, method="wilson")
    l2, u2 = stats.binomtest(bad2, n2).proportion_ci(level, method="wilson")
    p1, p2 = bad1 / n1, bad2 / n2
    d = p1 - p2
    return d - float(np.hypot(p1 - l1, u2 - p2)), d + float(np.hypot(u1 - p1, p2 - l2))


def moments_of_truth(
    engine: Engine,
    outcome: str,
    positive: str | None = None,
    level: Level = "stage",
    filters: Filters = NO_FILTERS,
    top: int = 3,
) -> pd.DataFrame:
    """Per stage (or touchpoint): how much a disappointing experience there (cell score < 0)
    raises the risk of the bad outcome, with a 95% interval; largest difference first."""
    cells, spec = customer_cells(engine, outcome, positive, level, filters)
    return moments_from_cells(cells, spec, level, top)


def no_moments_reason(spec: Outcome) -> str | None:
    """Why this outcome has no moments of truth (None when it has them): they need a bad
    outcome, which a numeric scale does not define."""
    if spec.scale != "numeric":
        return None
    return (
        f'"{spec.name}" is neither yes/no nor a 0-10 answer; moments of truth need a bad '
        "outcome: choose such an outcome, or say which value is the good one (positive)"
    )


def moments_from_cells(
    cells: CustomerCells | pd.DataFrame, spec: Outcome, level: Level, top: int = 3
) -> pd.DataFrame:
    """`moments_of_truth` from what `customer_cells` returned (or one row per customer and
    cell): counts of customers, so every customer counts."""
    reason = no_moments_reason(spec)
    if reason:
        raise FilterError(reason)
    keys = ["stage"] if level == "stage" else ["touchpoint", "stage"]
    if isinstance(cells, pd.DataFrame):
        cells = CustomerCells.of(cells, keys)
    known = cells.counts.dropna(subset=["y"])
    known = known.assign(
        bad=known["y"] <= 6 if spec.scale == "0-10" else known["y"] < 0.5,
        disappointed=known["score"] < 0,
    )
    rows = []
    for key, g in known.groupby(keys, sort=False):
        hit, rest = g[g["disappointed"]], g[~g["disappointed"]]
        n1, n2 = int(hit["customers"].sum()), int(rest["customers"].sum())
        b1 = int(hit.loc[hit["bad"], "customers"].sum())
        b2 = int(rest.loc[rest["bad"], "customers"].sum())
        low, high = newcombe(b1, n1, b2, n2) if n1 and n2 else (np.nan, np.nan)
        r1, r2 = (b1 / n1 if n1 else np.nan), (b2 / n2 if n2 else np.nan)
        rows.append((*key_tuple(key), r1, r2, r1 - r2, low, high, n1, n2))
    columns = [*keys, "risk_disappointed", "risk_other", "risk_difference", "ci_low", "ci_high"]
    df = pd.DataFrame(rows, columns=[*columns, "n_disappointed", "n_other"])
    df = df.sort_values(
        ["risk_difference", *keys], ascending=[False] + [True] * len(keys), na_position="last"
    ).reset_index(drop=True)
    df["moment_of_truth"] = (df.index < top) & (df["ci_low"] > 0)
    df.attrs |= {"method": MOMENT_METHOD, "outcome": spec.name, "bad": spec.bad, "level": level}
    return df
