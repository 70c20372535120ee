"""Honest segment comparison: per stage (or touchpoint), the difference between two groups
of customers with its interval, an effect size, a rank test and a multiple-testing
correction over every row compared.

Scores per customer and cell come from the engine; the statistics run on that small table
with scipy.stats (Welch interval for the difference of means, Mann-Whitney U for the
bounded, skewed scores, Benjamini-Hochberg q-values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.order import in_journey_order
from cxdata.analysis.scoring import attribute_names, cell_scores
from cxdata.analysis.segments import latest_assignments, latest_names
from cxdata.store import Store

LEVELS = ("stage", "touchpoint")
_CONDITION = re.compile(r"^\s*([^=]+?)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True)
class Segment:
    """Customers by persona (number or name of the latest model) and/or attribute values
    (AND-ed); `rest` means everyone in the data who is not in the other segment."""

    conditions: tuple[tuple[str, str], ...] = ()
    rest: bool = False

    @classmethod
    def parse(cls, texts: list[str], allowed: set[str]) -> Segment:
        if [t.strip().lower() for t in texts] == ["rest"]:
            return cls(rest=True)
        conditions = []
        for text in texts:
            match = _CONDITION.match(text)
            if not match:
                raise FilterError(f'cannot read "{text}"; write COLUMN=VALUE, or rest')
            name, value = match.groups()
            if name != "persona" and name not in allowed:
                known = ", ".join(["persona", *sorted(allowed)])
                raise FilterError(f'unknown column "{name}" in "{text}"; known: {known}')
            conditions.append((name, value))
        if not conditions:
            raise FilterError("a segment needs at least one COLUMN=VALUE condition")
        return cls(tuple(conditions))

    def label(self) -> str:
        return "everyone else" if self.rest else " & ".join(f"{k}={v}" for k, v in self.conditions)


def _members(backend: ibis.BaseBackend, segment: Segment) -> ir.Table:
    """customer_id of every customer meeting all the segment's conditions."""
    attrs = backend.table("customer_attributes")
    result: ir.Table | None = None
    for name, value in segment.conditions:
        if name == "persona":
            named = latest_assignments(backend)
            match = (named.name == value) | (named.persona.cast("string") == value)
            ids = named.filter(match).select(customer_id=named.customer_id)
        else:
            ids = attrs.filter((attrs.name == name) & (attrs.value == value)).select("customer_id")
        ids = ids.distinct()
        result = ids if result is None else result.intersect(ids)
    assert result is not None
    return result


def customer_cells(
    store: Store, a: Segment, b: Segment, level: str = "stage", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per customer and cell: customer_id, stage (and touchpoint), score, side."""
    if level not in LEVELS:
        raise FilterError(f'--by is "stage" or "touchpoint", not "{level}"')
    if a.rest:
        raise FilterError('segment A cannot be "rest"; name its conditions')
    by = [] if level == "stage" else ["touchpoint"]
    with store.ibis() as backend:
        cells = cell_scores(backend, by, filters).select("customer_id", "stage", *by, "score")
        in_a = _members(backend, a)
        side_a = cells.filter(cells.customer_id.isin(in_a.customer_id)).mutate(
            side=ibis.literal("a")
        )
        if b.rest:
            rest = cells.filter(~cells.customer_id.isin(in_a.customer_id))
        else:
            in_b = _members(backend, b)
            rest = cells.filter(
                cells.customer_id.isin(in_b.customer_id) & ~cells.customer_id.isin(in_a.customer_id)
            )
        df = side_a.union(rest.mutate(side=ibis.literal("b"))).to_pandas()
    return df


def compare_cells(
    cells: pd.DataFrame,
    level: str = "stage",
    min_customers: int = 30,
    order: list[str] | None = None,
) -> pd.DataFrame:
    """The comparison table from per-customer cell scores (pure: testable by simulation)."""
    rows = []
    for key, group in cells.groupby(level, sort=False):
        a = group.loc[group["side"] == "a", "score"].to_numpy(float)
        b = group.loc[group["side"] == "b", "score"].to_numpy(float)
        row: dict[str, object] = {level: key, "n_a": len(a), "n_b": len(b)}
        if level == "touchpoint":
            row["stage"] = group["stage"].iloc[0]
        row |= {"mean_a": _mean(a), "mean_b": _mean(b)}
        row["diff"] = row["mean_a"] - row["mean_b"]  # type: ignore[operator]
        for name, sign in (("delight", 1), ("disappointment", -1)):
            share_a, share_b = _mean(sign * a > 0), _mean(sign * b > 0)
            row |= {f"{name}_a": share_a, f"{name}_b": share_b,
                    f"{name}_diff": share_a - share_b}  # fmt: skip
        tested = len(a) >= min_customers and len(b) >= min_customers
        row["tested"] = tested
        if tested:
            ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
            u = stats.mannwhitneyu(a, b, alternative="two-sided")
            row |= {"ci_low": float(ci.low), "ci_high": float(ci.high),
                    "effect_size": 2 * float(u.statistic) / (len(a) * len(b)) - 1,
                    "p_value": float(u.pvalue)}  # fmt: skip
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in ("ci_low", "ci_high", "effect_size", "p_value"):
        if col not in df:
            df[col] = np.nan
    mask = np.asarray(df["tested"], dtype=bool) if len(df) else np.zeros(0, dtype=bool)
    df["q_value"] = np.nan
    if mask.any():
        p_values = np.asarray(df["p_value"], dtype=float)[mask]
        df.loc[mask, "q_value"] = stats.false_discovery_control(p_values, method="bh")
    df["significant"] = df["q_value"] < 0.05
    return in_journey_order(df, order or [], [level]) if len(df) else df.reset_index(drop=True)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def compare(
    store: Store, a: Segment, b: Segment, level: str = "stage", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Rows with level, n_a, n_b, mean_a, mean_b, diff, ci_low, ci_high, shares and their
    differences, effect_size (Cliff's delta), p_value (Mann-Whitney U), q_value
    (Benjamini-Hochberg over all tested rows), significant (q < 0.05); rows with fewer
    than `min_customers` on a side are listed with tested = False."""
    cells = customer_cells(store, a, b, level, filters)
    return compare_cells(cells, level, store.settings.min_customers, store.stage_order())


def segment_label(store: Store, segment: Segment) -> str:
    """How the segment reads in a sentence: persona numbers become their names."""
    if segment.rest:
        return "everyone else"
    with store.ibis() as backend:
        names = latest_names(backend).to_pandas()
    by_number = {str(p): n for p, n in zip(names["persona"], names["name"], strict=True)}
    parts = [
        f"{by_number.get(v, v)} customers" if k == "persona" else f"{k}={v}"
        for k, v in segment.conditions
    ]
    return " & ".join(parts)


def segment_names(store: Store) -> set[str]:
    """Columns a segment condition may name (attributes; persona is always allowed)."""
    return set(attribute_names(store))


def summary(df: pd.DataFrame, a: str, b: str, level: str = "stage", most: int = 4) -> str:
    """Plain language: what differs, by how much, how sure; and that nothing else does.

    e.g. "App-first customers score 3.3 points lower than everyone else at Delivery (95% CI
    3.1 to 3.6), 2.6 higher at Purchase (95% CI 2.4 to 2.8); significant after correction;
    no other stage differs."
    """
    if df.empty:
        return f"There are no customers to compare for {a} and {b}."
    untested = int((~df["tested"].astype(bool)).sum())
    tail = f" {untested} {level}(s) had too few customers to test." if untested else ""
    found = df[df["significant"]].sort_values("diff", key=abs, ascending=False)
    if found.empty:
        return f"No {level} differs significantly between {a} and {b} after correction.{tail}"
    phrases = []
    for i, (_, r) in enumerate(found.head(most).iterrows()):
        way = "higher" if r["diff"] > 0 else "lower"
        low, high = sorted((abs(r["ci_low"]), abs(r["ci_high"])))
        what = f"{abs(r['diff']):.1f} {'points ' if i == 0 else ''}{way}"
        lead = f"{a} score {what} than {b}" if i == 0 else what
        phrases.append(f"{lead} at {r[level]} (95% CI {low:.1f} to {high:.1f})")
    more = f", and {len(found) - most} more" if len(found) > most else ""
    rest = len(df) - len(found) - untested
    others = f"; no other {level} differs" if rest else ""
    return ", ".join(phrases) + f"{more}; significant after correction{others}.{tail}"
