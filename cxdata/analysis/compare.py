"""Honest segment comparison: per stage (or touchpoint), the difference between two groups
of customers, one test and one interval per row from the same procedure, and a correction
over every row compared.

Scores per customer and cell are computed in the engine and counted there: what crosses to
Python is one row per cell, side and distinct score with its number of customers
(`cell_counts`; graded scores take a few dozen values per cell, however many customers
there are), from which every statistic is exact: Welch's t-test (means and variances of the
counted scores; p-value and intervals from the same t statistic and Welch-Satterthwaite
degrees of freedom), the delight and disappointment shares, and Cliff's delta (from the
counts of each score on each side). Benjamini-Hochberg q-values select the rows
(`scipy.stats.false_discovery_control`); the reported intervals are the
false-coverage-rate-adjusted intervals of Benjamini and Yekutieli (2005). See METHOD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.counted_stats import FDR_LEVEL, Side, Welch, adjusted_level, cliffs_delta
from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.order import in_journey_order
from cxdata.analysis.scoring import attribute_names, cell_scores
from cxdata.analysis.segments import latest_assignments, latest_names
from cxdata.analysis.units import double_coded
from cxdata.engine import Engine

LEVELS = ("stage", "touchpoint")
# Filled on tested rows only, in this order after the descriptive columns.
_TEST_COLUMNS = ("ci_low", "ci_high", "ci_level", "ci95_low", "ci95_high", "effect_size",
                 "p_value", "q_value")  # fmt: skip

METHOD = (
    "Per stage (or touchpoint), diff is segment A's mean customer score minus segment B's. "
    "Each row is tested with Welch's t-test (unequal variances; computed from the customers "
    "counted per score in the engine, the statistic of scipy.stats.ttest_ind with "
    "equal_var=False on one value per customer), and its intervals come from the same t "
    "statistic and Welch-Satterthwaite degrees of freedom, so a row's test and its interval "
    "always agree. The test is about means, the numbers shown; a rank test asks another "
    "question and can call a difference "
    "of means near zero significant. q_value: Benjamini-Hochberg over all m rows tested; the "
    "R rows with q_value <= 0.05 are selected (false discovery rate 5%). ci_low and ci_high: "
    "the false-coverage-rate-adjusted intervals of Benjamini and Yekutieli (2005), every row at "
    "the level 1 - max(R, 1) x 0.05 / m (ci_level): on average at most 5% of the selected "
    "rows' intervals miss the true difference (proved for independent rows; rows that share "
    "customers make it approximate). They are never narrower than 95% intervals, and wider "
    "when some rows are not selected. significant: the adjusted interval excludes 0, which "
    "is exactly the Benjamini-Hochberg selection. ci95_low and ci95_high: each row's "
    "unadjusted 95% Welch interval, valid for a row looked at on its own, not for rows picked "
    "because they differ. effect_size: Cliff's delta (share of pairs of an A and a B customer "
    "where A scores higher, minus the share where B does), descriptive only: no test, no "
    "interval. Rows with fewer than min_customers (CXDATA_MIN_CUSTOMERS) customers on a side "
    "are listed with tested = false and no test. Segments: a condition may take several values "
    "of its column (any matches); conditions on different columns must all hold. Everyone else "
    "means the customers known not to be in A (one of A's columns has a known value outside "
    "A's values); customers whose value is unknown are left out and counted (n_unknown), "
    "unless B is rest-all, which includes them."
)
_CONDITION = re.compile(r"^\s*([^=]+?)\s*=\s*(.*?)\s*$")


Value = str | tuple[str, ...]
"""One value, or a set of values of one column (any of them matches)."""


def values_of(value: Value) -> tuple[str, ...]:
    """The values a condition accepts: a tuple as it is, one value as a 1-tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Segment:
    """Customers by persona (number or name of the latest model; a number first) and/or
    attribute values: within one condition any of its values matches (OR), conditions are
    AND-ed. `rest` means "everyone else": the customers known not to be in the other segment
    (a value of one of its columns is known and not among its values); with
    `include_unknown`, also those whose value is unknown (`--b rest-all`)."""

    conditions: tuple[tuple[str, Value], ...] = ()
    rest: bool = False
    include_unknown: bool = False

    @classmethod
    def parse(cls, texts: list[str], allowed: set[str]) -> Segment:
        """From CLI words: `rest`, `rest-all`, or COLUMN=VALUE[|VALUE...] (one per column)."""
        words = [t.strip().lower() for t in texts]
        if words in (["rest"], ["rest-all"]):
            return cls(rest=True, include_unknown=words == ["rest-all"])
        conditions: list[tuple[str, Value]] = []
        for text in texts:
            match = _CONDITION.match(text)
            if not match:
                raise FilterError(
                    f'cannot read "{text}"; write COLUMN=VALUE (or VALUE|VALUE), rest or rest-all'
                )
            name, value = match.groups()
            if name != "persona" and name not in allowed:
                known = ", ".join(["persona", *sorted(allowed)])
                raise FilterError(f'unknown column "{name}" in "{text}"; known: {known}')
            if name in {n for n, _ in conditions}:
                raise FilterError(
                    f'"{name}" appears twice; write its values in one condition, '
                    f"{name}=VALUE|VALUE (a customer has one value per column)"
                )
            values = tuple(v.strip() for v in value.split("|"))
            if not all(values):
                raise FilterError(f'an empty value in "{text}"; write {name}=VALUE|VALUE')
            conditions.append((name, values[0] if len(values) == 1 else values))
        if not conditions:
            raise FilterError("a segment needs at least one COLUMN=VALUE condition")
        return cls(tuple(conditions))

    def label(self) -> str:
        if self.rest:
            return "everyone else" + (" (unknowns included)" if self.include_unknown else "")
        return " & ".join(f"{k}={'|'.join(values_of(v))}" for k, v in self.conditions)


def _with_conditions(
    backend: ibis.BaseBackend, cells: ir.Table, segment: Segment, tag: str
) -> tuple[ir.Table, list[str]]:
    """`cells` with a column per condition of the segment (returned with their names): True
    (the customer meets it), False (a known value that fails it) or NULL (unknown), joined
    once per condition (a left join: Spark plans an IN subquery in a projection as a
    nested loop join, quadratic in the customers)."""
    attrs = backend.table("customer_attributes")
    columns = []
    for i, (name, value) in enumerate(segment.conditions):
        values = values_of(value)
        if name == "persona":
            named = latest_assignments(backend)
            numbers = set(latest_names(backend).persona.cast("string").to_pandas())
            # A persona number wins over a name, so "persona=2" never also takes in a
            # persona that somebody named "2".
            match = ibis.or_(*[
                named.persona.cast("string") == v if v in numbers else named.name == v
                for v in values
            ])  # fmt: skip
            rows = named.select(known_id=named.customer_id, meets=match)
        else:
            mine = attrs.filter((attrs.name == name) & attrs.value.notnull())
            rows = mine.select(known_id=mine.customer_id, meets=mine.value.isin(values))
        column = f"_{tag}{i}"
        known = rows.group_by("known_id").aggregate(**{column: rows.meets.any()})
        joined = cells.left_join(known, cells.customer_id == known.known_id)
        cells = joined.drop("known_id")
        columns.append(column)
    return cells, columns


def _sided_cells(
    engine: Engine,
    backend: ibis.BaseBackend,
    a: Segment,
    b: Segment,
    level: str,
    filters: Filters,
) -> ir.Table:
    """The per-customer cells with their side, as an expression (see `customer_cells`)."""
    if level not in LEVELS:
        raise FilterError(f'--by is "stage" or "touchpoint", not "{level}"')
    if a.rest:
        raise FilterError('segment A cannot be "rest"; name its conditions')
    by = [] if level == "stage" else ["touchpoint"]
    cells = cell_scores(backend, by, filters, double_coded(engine)).select(
        "customer_id", "stage", *by, "score"
    )
    cells, in_a = _with_conditions(backend, cells, a, "a")
    in_b: list[str] = []
    if not b.rest:
        cells, in_b = _with_conditions(backend, cells, b, "b")

    def meets(columns: list[str]) -> ir.BooleanValue:  # every condition
        return ibis.and_(*[cells[c].fill_null(False) for c in columns])

    def fails(columns: list[str]) -> ir.BooleanValue:  # a condition, on a known value
        return ibis.or_(*[(~cells[c]).fill_null(False) for c in columns])

    is_a, not_a = meets(in_a), fails(in_a)
    if b.rest:
        is_b = ~is_a if b.include_unknown else not_a
        undecided = ~is_a & ~not_a
    else:
        is_b = meets(in_b) & ~is_a
        undecided = ~is_a & ~meets(in_b) & (~not_a | ~fails(in_b))
    side = ibis.cases((is_a, "a"), (is_b, "b"), (undecided, "unknown"), else_=None)
    return cells.select("customer_id", "stage", *by, "score", side=side).filter(
        lambda t: t.side.notnull()
    )


def customer_cells(
    engine: Engine, a: Segment, b: Segment, level: str = "stage", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per customer and cell: customer_id, stage (and touchpoint), score, side:
    "a", "b", or "unknown" for a customer on neither side because a value that decides
    membership is unknown (counted as n_unknown, never compared). One row per customer:
    for a look at the data; `compare` reads `cell_counts` instead."""
    with engine.ibis() as backend:
        return _sided_cells(engine, backend, a, b, level, filters).to_pandas()


def cell_counts(
    engine: Engine, a: Segment, b: Segment, level: str = "stage", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """`customer_cells` counted in the engine: stage (and touchpoint), side, score and
    `customers`, the number of customers with that score there; attrs["n_unknown"]: the
    distinct customers of unknown side. One row per cell, side and distinct score crosses
    to Python, never one per customer."""
    with engine.ibis() as backend:
        cells = _sided_cells(engine, backend, a, b, level, filters)
        keys = ["stage", *([] if level == "stage" else ["touchpoint"])]
        counts = cells.group_by([*keys, "side", "score"]).aggregate(customers=cells.count())
        df = counts.to_pandas()
        unknown = 0
        if (df["side"] == "unknown").any():  # a second read only when there are some
            undecided = cells.filter(cells.side == "unknown").customer_id.nunique()
            unknown = int(undecided.to_pandas() or 0)
        df.attrs["n_unknown"] = unknown
    return df


def compare_cells(
    cells: pd.DataFrame,
    level: str = "stage",
    min_customers: int = 30,
    order: list[str] | None = None,
) -> pd.DataFrame:
    """The comparison table from cell scores (pure: testable by simulation): one row per
    customer (stage, touchpoint, score, side), or their counts (`cell_counts`: a
    `customers` column), which give the same statistics.

    One procedure per row (Welch's t-test: p-value and intervals from the same statistic),
    Benjamini-Hochberg over the m tested rows (R selected at q = FDR_LEVEL), and every tested
    row's `ci_low`/`ci_high` at the Benjamini-Yekutieli level 1 - max(R, 1) * q / m
    (`ci_level`).
    `significant` is computed from that interval, (ci_low > 0) | (ci_high < 0), so the
    equivalence holds exactly, ties included: an interval touching 0 is not significant.
    It is the Benjamini-Hochberg selection (q_value <= q), since a row is selected exactly
    when p <= R * q / m (step-up property) and Welch's (1 - a) interval excludes 0 exactly
    when p < a; the two could only part on a p-value equal to R * q / m to the last bit.
    """
    counts = _counted(cells, level)
    rows: list[dict[str, object]] = []
    samples: dict[int, tuple[Side, Side]] = {}  # row -> (A, B) of a tested row
    # A touchpoint met in two stages is two cells (one row each), never one mixed row.
    keys = [level] if level == "stage" else [level, "stage"]
    for key, group in counts.groupby(keys, sort=False, dropna=False):
        side = group["side"].to_numpy()
        a, b = Side.of(group[side == "a"]), Side.of(group[side == "b"])
        row: dict[str, object] = dict(zip(keys, key, strict=True))
        unknown = int(group.loc[side == "unknown", "customers"].sum())
        row |= {"n_a": a.n, "n_b": b.n, "n_unknown": unknown}
        row |= {"mean_a": a.mean, "mean_b": b.mean}
        row["diff"] = row["mean_a"] - row["mean_b"]  # type: ignore[operator]
        for name, sign in (("delight", 1), ("disappointment", -1)):
            share_a, share_b = a.share(sign), b.share(sign)
            row |= {f"{name}_a": share_a, f"{name}_b": share_b,
                    f"{name}_diff": share_a - share_b}  # fmt: skip
        # Welch needs a variance on each side: at least two customers, whatever the setting.
        row["tested"] = min(a.n, b.n) >= max(min_customers, 2)
        if row["tested"]:
            samples[len(rows)] = (a, b)
        rows.append(row)
    results = {column: np.full(len(rows), np.nan) for column in _TEST_COLUMNS}
    if samples:
        index, welch = list(samples), Welch(list(samples.values()))
        q_values = stats.false_discovery_control(welch.p_value, method="bh")
        level_adjusted = adjusted_level(int(np.sum(q_values <= FDR_LEVEL)), len(index))
        adjusted, unadjusted = welch.intervals(level_adjusted), welch.intervals(0.95)
        deltas = [cliffs_delta(a, b) for a, b in samples.values()]
        for column, values in (("ci_low", adjusted[:, 0]), ("ci_high", adjusted[:, 1]),
                               ("ci_level", level_adjusted), ("ci95_low", unadjusted[:, 0]),
                               ("ci95_high", unadjusted[:, 1]), ("effect_size", deltas),
                               ("p_value", welch.p_value), ("q_value", q_values)):  # fmt: skip
            results[column][index] = values
    df = pd.DataFrame(rows).assign(**results)
    if len(df):  # a cell seen only by customers of unknown side has nothing to compare
        df = df[(df["n_a"] + df["n_b"]) > 0]
    df["significant"] = (df["ci_low"] > 0) | (df["ci_high"] < 0)
    df = in_journey_order(df, order or [], [level]) if len(df) else df.reset_index(drop=True)
    counted = "customers" in cells.columns
    df.attrs["n_unknown"] = (
        int(cells.attrs.get("n_unknown", 0)) if counted else unknown_customers(cells, level)
    )
    return df


def _counted(cells: pd.DataFrame, level: str) -> pd.DataFrame:
    """Cells as counts (stage, touchpoint, side, score, customers): as `cell_counts` gives
    them, or counted here from one row per customer."""
    if "customers" in cells.columns:
        return cells
    keys = ["stage", *(["touchpoint"] if level == "touchpoint" else [])]
    grouped = cells.groupby([*keys, "side", "score"], sort=False, dropna=False)
    return grouped.size().rename("customers").reset_index()


def unknown_customers(cells: pd.DataFrame, level: str = "stage") -> int:
    """Customers left out because a value deciding their side is unknown (distinct
    customers when the cells name them, else the largest count of any one cell)."""
    if "side" not in cells or not len(cells):
        return 0
    unknown = cells[cells["side"] == "unknown"]
    if "customer_id" in cells:
        return int(unknown["customer_id"].nunique())
    return int(unknown.groupby(level).size().max()) if len(unknown) else 0


def compare(
    engine: Engine, a: Segment, b: Segment, level: str = "stage", filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """Rows with level, n_a, n_b, mean_a, mean_b, diff, the shares and their differences,
    tested, ci_low, ci_high (Benjamini-Yekutieli adjusted, at ci_level), ci95_low, ci95_high
    (unadjusted), effect_size (Cliff's delta, descriptive), p_value (Welch's t-test), q_value
    (Benjamini-Hochberg over all tested rows) and significant (the adjusted interval excludes
    0); rows with fewer than `min_customers` on a side are listed with tested = False.
    See METHOD."""
    cells = cell_counts(engine, a, b, level, filters)
    order = engine.stage_order(cells["stage"].unique())
    return compare_cells(cells, level, engine.settings.min_customers, order)


def segment_label(engine: Engine, segment: Segment) -> str:
    """How the segment reads in a sentence: persona numbers become their names."""
    if segment.rest:
        return segment.label()
    with engine.ibis() as backend:
        names = latest_names(backend).to_pandas()
    by_number = {str(p): n for p, n in zip(names["persona"], names["name"], strict=True)}
    parts = [
        " or ".join(by_number.get(v, v) for v in values_of(value)) + " customers"
        if k == "persona"
        else f"{k}={'|'.join(values_of(value))}"
        for k, value in segment.conditions
    ]
    return " & ".join(parts)


def segment_names(engine: Engine) -> set[str]:
    """Columns a segment condition may name (attributes; persona is always allowed)."""
    return set(attribute_names(engine))


def unknown_sentence(df: pd.DataFrame) -> str:
    """How many customers were left out as unknown ("" when none)."""
    n = int(df.attrs.get("n_unknown", 0))
    if not n:
        return ""
    who = "customer was" if n == 1 else "customers were"
    return f" {n:,} {who} left out: a value that decides their segment is unknown."


def summary(df: pd.DataFrame, a: str, b: str, level: str = "stage", most: int = 4) -> str:
    """Plain language: what differs, by how much, how sure; and that nothing else does.

    e.g. "App-first customers score 3.3 points lower than everyone else at Delivery (adjusted
    CI -3.6 to -3.1), 2.6 higher at Purchase (adjusted CI +2.4 to +2.8); significant after
    correction over 6 stages (Benjamini-Hochberg, 5% false discovery rate); adjusted CIs are
    99.17% intervals, widened for picking 2 of 6 (Benjamini-Yekutieli); no other stage
    differs."  The bounds are signed: they bound A - B, like the table's ci_low and ci_high.
    """
    if df.empty:
        return f"There are no customers to compare for {a} and {b}."
    tested = df["tested"].astype(bool)
    untested = int((~tested).sum())
    tail = f" {untested} {level}(s) had too few customers to test." if untested else ""
    tail += unknown_sentence(df)
    found = df[df["significant"].astype(bool)].sort_values("diff", key=abs, ascending=False)
    if found.empty:
        return f"No {level} differs significantly between {a} and {b} after correction.{tail}"
    phrases = []
    for i, (_, r) in enumerate(found.head(most).iterrows()):
        way = "higher" if r["diff"] > 0 else "lower"
        what = f"{abs(r['diff']):.1f} {'points ' if i == 0 else ''}{way}"
        lead = f"{a} score {what} than {b}" if i == 0 else what
        phrases.append(
            f"{lead} at {r[level]} (adjusted CI {r['ci_low']:+.1f} to {r['ci_high']:+.1f})"
        )
    more = f", and {len(found) - most} more" if len(found) > most else ""
    m = int(tested.sum())
    rows = f"{m} {level}s" if m != 1 else f"1 {level}"
    pct, rate = f"{100 * float(found['ci_level'].iloc[0]):.4g}%", f"{FDR_LEVEL:.0%}"
    method = (
        f"; significant after correction over {rows} (Benjamini-Hochberg, {rate} false discovery "
        f"rate); adjusted CIs are {pct} intervals, widened for picking {len(found)} of {m} "
        "(Benjamini-Yekutieli)"
    )
    others = f"; no other {level} differs" if m > len(found) else ""
    return ", ".join(phrases) + f"{more}{method}{others}.{tail}"
