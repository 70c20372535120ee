"""Priorities from data: importance against performance, and the moments of truth.

Per customer and stage (or touchpoint) the cell score is computed in the engine, exactly as
in cxdata.scoring (sum of the customer's interaction scores there, within the filters), and
joined to the customer's outcome. What comes to pandas (`customer_cells`) is per group: the
customers counted per cell, score and outcome value (performance, n, Spearman's ρ and the
moments of truth are exact from those counts); only the relative weights' bootstrap needs
one row per customer, and it gets the customers with a known outcome, all of them up to
`sampling.MAX_DRIVER_CUSTOMERS` (50,000), beyond that a seeded sample of that many (the method
sentence says so).

Definitions (shown in the app):
- **performance**: the mean customer score in the stage or touchpoint (as on the heatmaps);
  n = customers observed there;
- **importance**: Johnson's relative weight of the stage or touchpoint in a model of the
  outcome over all of them together (logistic for a yes/no outcome, linear otherwise): the
  share of the model's R² (pseudo-R² R²_O for yes/no) it carries, so the weights add up to
  R² and collinear stages share what they explain instead of each claiming it (the halo
  effect of reviews). Each weight has a 95% percentile interval from 200 seeded bootstrap
  resamples of customers (importance_ci_low, importance_ci_high). Not rated (or not observed)
  = the item's mean plus a "not rated" indicator in the model; the indicators' share of R²
  is reported apart. `correlation` keeps Spearman's ρ with the outcome over the customers
  who have both (n_outcome). A link, not proof of cause;
- **not shown to matter**: a weight is never below 0, so its own interval cannot include 0;
  instead a random reference item (seeded noise) sits in every model, and a stage or
  touchpoint is shown to matter when its weight minus the reference's is above 0 with
  Bonferroni-corrected 95% confidence over the items (bootstrap standard error). One that is
  not shown to matter counts as unimportant: it is never in concentrate_here; nor is one
  whose Spearman ρ with the outcome is negative (a weight has no sign, and better scores
  going with a worse outcome are no gap to close);
- **quadrant**: importance splits at the mean relative weight (R² / number of items, i.e. a
  share of 1 / number of items; option: the median), performance at the mean performance of
  the rows (unless thresholds are given): concentrate_here = important and performance
  below; keep_up = important and performing; low_priority = unimportant and
  under-performing; possible_overkill = unimportant and performing;
- **rank** (1 = fix first): concentrate_here first, then by priority = max(importance, 0) x
  (performance threshold - performance), the importance-weighted performance gap;
- **moments of truth**: the risk of the bad outcome (a detractor, answer <= 6, on 0-10
  outcomes; not the positive answer on yes/no outcomes) among customers disappointed there
  (score < 0) minus the risk among the others, with a 95% Newcombe interval (hybrid score
  method, from Wilson intervals by scipy.stats.binomtest); a moment of truth is among the
  three largest differences and its interval lies above zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cxdata.analysis.drivers import MISSING, RESAMPLES, key_drivers
from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.order import in_journey_order
from cxdata.analysis.outcomes import SUMMARY_FIELDS, answer_summary, kind_from_summary
from cxdata.analysis.sampling import MAX_DRIVER_CUSTOMERS, seeded_sample
from cxdata.analysis.scoring import cell_scores
from cxdata.analysis.units import double_coded
from cxdata.engine import Engine

Level = Literal["stage", "touchpoint"]
LEVELS = ("stage", "touchpoint")
QUADRANTS = ("concentrate_here", "keep_up", "low_priority", "possible_overkill")
IMPORTANCE_METHOD = (
    "Importance is Johnson's relative weight of each {level} in a {model} regression of "
    "{outcome} on all of them: its share of the model's {r2} ({value:.2f}), with 95% "
    "bootstrap intervals ({resamples} resamples, seeded); a {level} whose weight does not "
    "clear a random reference item is not shown to matter."
)
"""The one-sentence statement of the method (formatted per result, in attrs["method"])."""
SAMPLE_NOTE = (
    " The weights were fitted on a seeded sample of {n:,} of the {total:,} customers with "
    "an outcome (at most 50,000 are used); performance, n, correlation and the moments of "
    "truth count every customer."
)
"""Added to the method sentence when the relative weights saw a sample."""
SPLITS = ("mean", "median")
DEFINITIONS = __doc__.split("Definitions (shown in the app):")[1]
_MIN_PAIRS = 3  # fewer customers with both: no importance
MIN_IMPORTANCE = 0.1  # a correlation below Cohen's "small" effect never counts as important


@dataclass(frozen=True)
class Outcome:
    """How an outcome column becomes one number per customer, and what counts as bad."""

    name: str
    scale: Literal["binary", "0-10", "numeric"]
    positive: str | None = None

    @property
    def bad(self) -> str:
        if self.scale == "0-10":
            return f"detractor ({self.name} ≤ 6)"
        if self.scale == "binary":
            good = f"“{self.positive}”" if self.positive else "yes"
            return f"{self.name} not {good}"
        return ""


def outcome_choices(engine: Engine) -> dict[str, list[str]]:
    """Outcome columns first, then attributes: name -> the values one may pick as the good
    outcome (empty when the column already holds numbers or yes/no)."""
    with engine.ibis() as backend:
        attrs = backend.table("customer_attributes")
        df = (
            attrs.group_by(["name", "kind", "value"])
            .aggregate(numbers=attrs.number.count())
            .to_pandas()
        )
    df["outcome"] = df["kind"] == "outcome"
    choices: dict[str, list[str]] = {}
    for (_, name), group in df.sort_values(["outcome", "name"], ascending=[False, True]).groupby(
        ["outcome", "name"], sort=False
    ):
        numeric = group["numbers"].sum() > 0
        choices[str(name)] = [] if numeric else sorted(group["value"].dropna().astype(str))
    return choices


def _distinct(table: ir.Table, column: str) -> list[str]:
    return sorted(table.select(column).distinct().to_pandas()[column].dropna().astype(str))


def key_tuple(key: object) -> tuple[object, ...]:
    return key if isinstance(key, tuple) else (key,)


def _outcome(
    backend: ibis.BaseBackend, name: str, positive: str | None
) -> tuple[Outcome, ir.Table]:
    """The outcome's description and an expression (customer_id, y): one number per customer,
    the mean of their answers (1/0 for yes/no), so repeated rows from several batches count
    once."""
    attrs = backend.table("customer_attributes")
    mine = attrs.filter(attrs.name == name)
    info = mine.aggregate(**answer_summary(mine)).to_pandas()
    row = info.iloc[0]
    if not row["rows"]:
        known = ", ".join(_distinct(attrs, "name")) or "none in the store"
        raise FilterError(f'unknown outcome "{name}"; choose from: {known}')
    values = _distinct(mine, "value")
    if positive is not None:
        wanted = positive.strip().lower()
        if wanted not in {v.strip().lower() for v in values}:
            raise FilterError(
                f'"{positive}" is not a value of "{name}"; choose from: {", ".join(values[:20])}'
            )
        good = (mine.value.strip().lower() == wanted).cast("float64")
        expr = mine.group_by("customer_id").aggregate(y=good.mean())
        return Outcome(name, "binary", positive), expr
    if not row["numbers"]:
        raise FilterError(
            f'"{name}" holds text; say which value counts as the good outcome (positive), '
            f"one of: {', '.join(values[:20])}"
        )
    # The outcome KPIs' rule (cxdata.analysis.outcomes): 0/1 numbers are yes/no, whole
    # numbers 0..10 reaching above 7 an NPS-like answer, anything else a numeric scale.
    kind = kind_from_summary(*(row[k] for k in SUMMARY_FIELDS))
    scale: Literal["binary", "0-10", "numeric"] = (
        "binary" if kind == "rate" else "0-10" if kind == "nps" else "numeric"
    )
    numbered = mine.filter(mine.number.notnull())
    return Outcome(name, scale), numbered.group_by("customer_id").aggregate(
        y=numbered.number.mean()
    )


@dataclass
class CustomerCells:
    """What crosses from the engine for priorities and moments of truth.

    `counts`: per cell (stage, touchpoint), score and outcome `y` (NaN: unknown), the number
    of `customers`; `sample`: one row per customer and cell (customer_id, stage, touchpoint,
    score, y) of the customers with a known outcome, all of them or a seeded sample of
    `limit`; `with_outcome`: how many customers have a known outcome in all."""

    counts: pd.DataFrame
    sample: pd.DataFrame
    with_outcome: int
    limit: int = MAX_DRIVER_CUSTOMERS

    @property
    def sampled(self) -> int | None:
        """The customers in the sample when it is one (fewer than `with_outcome`), else None."""
        n = int(self.sample["customer_id"].nunique()) if len(self.sample) else 0
        return n if n < self.with_outcome else None

    def stages(self) -> list[str]:
        return [str(s) for s in self.counts["stage"].unique()]

    @classmethod
    def of(cls, cells: pd.DataFrame, keys: list[str]) -> CustomerCells:
        """From one row per customer and cell (customer_id, keys, score, y)."""
        grouped = cells.groupby([*keys, "score", "y"], sort=False, dropna=False)
        counts = grouped.size().rename("customers").reset_index()
        known = cells.dropna(subset=["y"])
        return cls(counts, known, int(known["customer_id"].nunique()))


def customer_cells(
    engine: Engine,
    outcome: str,
    positive: str | None = None,
    level: Level = "stage",
    filters: Filters = NO_FILTERS,
    limit: int = MAX_DRIVER_CUSTOMERS,
) -> tuple[CustomerCells, Outcome]:
    """The customers' cell scores (stage, or stage and touchpoint, observed within the
    filters) with their outcome `y`, read once for priorities and moments of truth: counted
    per cell, score and outcome in the engine, and per customer only for the customers with
    a known outcome, at most `limit` of them (a seeded sample beyond)."""
    if level not in LEVELS:
        raise FilterError(f'unknown level "{level}"; choose from: {", ".join(LEVELS)}')
    keys = ["stage"] if level == "stage" else ["stage", "touchpoint"]
    with engine.ibis() as backend:
        spec, answers = _outcome(backend, outcome, positive)
        cells = cell_scores(backend, keys[1:], filters, double_coded(engine))
        if level == "touchpoint":
            cells = cells.filter(cells.touchpoint.notnull())
        joined = cells.left_join(answers, cells.customer_id == answers.customer_id)
        rows = joined.select(*[cells[c] for c in ["customer_id", *keys, "score"]], answers.y)
        counts = rows.group_by([*keys, "score", "y"]).aggregate(customers=rows.count())
        known = rows.filter(rows.y.notnull())
        customers = known.select("customer_id").distinct()
        with_outcome = int(customers.count().to_pandas())
        if with_outcome > limit:
            chosen = seeded_sample(customers, limit)
            known = known.semi_join(chosen, known.customer_id == chosen.customer_id)
        return CustomerCells(counts.to_pandas(), known.to_pandas(), with_outcome, limit), spec


def _weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Spearman's ρ of customers counted by value pair (x, y, how many): the Pearson
    correlation of their mid-ranks, as scipy.stats.spearmanr on one row per customer."""
    if w.sum() < _MIN_PAIRS:
        return float("nan")
    rx, ry = _midranks(x, w), _midranks(y, w)
    dx, dy = rx - rx @ w / w.sum(), ry - ry @ w / w.sum()
    vx, vy = (dx * dx) @ w, (dy * dy) @ w
    if not (vx > 0 and vy > 0):  # constant input: no correlation (scipy warns and says nan)
        return float("nan")
    return float((dx * dy) @ w / np.sqrt(vx * vy))


def _midranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each value's mid-rank among customers counted by `weights` (ties share the mean
    rank)."""
    distinct, where = np.unique(values, return_inverse=True)
    per_value = np.bincount(where, weights=weights, minlength=len(distinct))
    below = np.cumsum(per_value) - per_value
    return (below + (per_value + 1) / 2)[where]


def importance_performance(
    cells: CustomerCells | pd.DataFrame,
    keys: list[str],
    logistic: bool = False,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Per cell: performance (mean cell score), n, importance (relative weight) with its
    bootstrap interval and verdict, correlation (Spearman with `y`), n_outcome. `attrs`:
    the model's r2, the share of the 'not rated' indicators and of the reference item, and
    `sample` (customers) when the weights were fitted on a sample. `cells`: as
    `customer_cells` reads them, or one row per customer and cell."""
    if isinstance(cells, pd.DataFrame):
        cells = CustomerCells.of(cells, keys)
    rows = []
    for key, group in cells.counts.groupby(keys, sort=False, dropna=False):
        w = group["customers"].to_numpy(float)
        score, y = group["score"].to_numpy(float), group["y"].to_numpy(float)
        both = ~np.isnan(y)
        rows.append((*key_tuple(key), float(score @ w / w.sum()), int(w.sum()),
                     _weighted_spearman(score[both], y[both], w[both]),
                     int(w[both].sum())))  # fmt: skip
    table = pd.DataFrame(rows, columns=[*keys, "performance", "n", "correlation", "n_outcome"])
    known = cells.sample
    wide = known.pivot_table(index="customer_id", columns=keys, values="score", aggfunc="mean")
    usable = [c for c in wide.columns if wide[c].notna().sum() >= _MIN_PAIRS and wide[c].std() > 0]
    outcome = known.groupby("customer_id")["y"].first().reindex(wide.index)
    for column in ("importance", "importance_ci_low", "importance_ci_high",
                   "vs_reference_ci_low", "vs_reference_ci_high"):  # fmt: skip
        table[column] = np.nan
    table["shown_to_matter"] = False
    table.attrs |= {"r2": np.nan, "pattern_weight": np.nan, "reference_weight": np.nan,
                    "sample": cells.sampled, "with_outcome": cells.with_outcome}  # fmt: skip
    if not usable or len(wide) < len(usable) + _MIN_PAIRS or outcome.nunique() < 2:
        return table
    found = key_drivers(wide[usable], outcome, logistic, resamples, seed)
    index = pd.MultiIndex.from_frame(table[keys]) if len(keys) > 1 else pd.Index(table[keys[0]])
    for column in found.table.columns:
        table[column] = found.table[column].reindex(index).to_numpy()
    table["shown_to_matter"] = table["shown_to_matter"].fillna(False).astype(bool)
    table.attrs |= {"r2": found.r2, "pattern_weight": found.pattern_weight,
                    "reference_weight": found.reference_weight, "resamples": found.resamples,
                    "difference_level": found.difference_level}  # fmt: skip
    return table


def classify(
    df: pd.DataFrame,
    importance_threshold: float | None = None,
    performance_threshold: float | None = None,
    min_importance: float = MIN_IMPORTANCE,
    split: str = "median",
) -> pd.DataFrame:
    """Quadrant, priority and rank (1 = fix first) on an importance-performance table. By
    default the thresholds are the medians (importance: at least `min_importance`); with
    split="mean", the means. A row with `shown_to_matter` False, or a negative
    `correlation`, is never important. The
    thresholds used are kept in `attrs`."""
    if split not in SPLITS:
        raise FilterError(f'unknown split "{split}"; choose from: {", ".join(SPLITS)}')
    df = df.copy()
    imp, perf = importance_threshold, performance_threshold
    centre = (lambda v: float(v.mean())) if split == "mean" else (lambda v: float(v.median()))
    if imp is None:
        imp = max(centre(df["importance"]), min_importance)
    if perf is None:
        perf = centre(df["performance"])
    important = df["importance"] > imp
    if "shown_to_matter" in df:
        important &= df["shown_to_matter"].astype(bool)
    if "correlation" in df:  # a weight has no sign: better scores going with a worse outcome
        important &= ~(df["correlation"] < 0)  # is no gap to close, so never concentrate_here
    performing = df["performance"] >= perf
    df["quadrant"] = np.select(
        [important & ~performing, important & performing, ~important & ~performing],
        QUADRANTS[:3],
        QUADRANTS[3],
    )
    df.loc[df["importance"].isna(), "quadrant"] = "not_enough_data"
    df["priority"] = df["importance"].clip(lower=0) * (perf - df["performance"]) + 0.0
    order = df.assign(
        _first=df["quadrant"] != "concentrate_here",
        _priority=-df["priority"].fillna(-np.inf),
        _importance=-df["importance"].fillna(-np.inf),
    ).sort_values(["_first", "_priority", "_importance", df.columns[0]], kind="stable")
    df["rank"] = 0
    df.loc[order.index, "rank"] = np.arange(1, len(df) + 1)
    df.attrs |= {"importance_threshold": imp, "performance_threshold": perf, "split": split}
    return df.sort_values("rank").reset_index(drop=True)


def resplit(table: pd.DataFrame, split: str) -> pd.DataFrame:
    """A priorities table with its quadrants and ranks redone for another importance split
    ("mean" or "median"); performance still splits at its mean."""
    if split == table.attrs.get("split"):
        return table
    perf = float(table["performance"].mean())
    out = classify(table.drop(columns=["quadrant", "priority", "rank"]), None, perf, 0.0, split)
    out.attrs = {**table.attrs, **out.attrs}
    return out


def priorities(
    engine: Engine,
    outcome: str,
    positive: str | None = None,
    level: Level = "stage",
    filters: Filters = NO_FILTERS,
    importance_threshold: float | None = None,
    performance_threshold: float | None = None,
    split: str = "mean",
    resamples: int = RESAMPLES,
    limit: int = MAX_DRIVER_CUSTOMERS,
) -> pd.DataFrame:
    """One row per stage (or touchpoint, with its stage), fix-first order: performance, n,
    importance (relative weight) with importance_ci_low/high, correlation (Spearman),
    n_outcome, shown_to_matter, method, quadrant, priority, rank, low_n. `attrs` holds the
    method, the outcome, the model's R² and the thresholds used. The relative weights are
    fitted on at most `limit` customers with a known outcome (see `customer_cells`)."""
    cells, spec = customer_cells(engine, outcome, positive, level, filters, limit)
    return priorities_from_cells(
        cells, spec, level, engine.stage_order(cells.stages()),
        engine.settings.min_customers,
        importance_threshold, performance_threshold, split, resamples,
    )  # fmt: skip


def priorities_from_cells(
    cells: CustomerCells | pd.DataFrame,
    spec: Outcome,
    level: Level,
    stage_order: list[str],
    min_customers: int,
    importance_threshold: float | None = None,
    performance_threshold: float | None = None,
    split: str = "mean",
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """`priorities` from the table `customer_cells` returned (so one read serves both the
    priorities and the moments of truth)."""
    if split not in SPLITS:
        raise FilterError(f'unknown split "{split}"; choose from: {", ".join(SPLITS)}')
    keys = ["stage"] if level == "stage" else ["touchpoint", "stage"]
    logistic = spec.scale == "binary"
    table = importance_performance(cells, keys, logistic, resamples)
    fitted = table.attrs
    table = in_journey_order(table, stage_order, keys)
    if performance_threshold is None and len(table):
        performance_threshold = float(table["performance"].mean())
    df = classify(table, importance_threshold, performance_threshold, 0.0, split)
    model = "logistic" if logistic else "linear"
    df["method"] = f"relative weight ({model})"
    df["low_n"] = df["n_outcome"] < min_customers
    r2 = "pseudo-R² (R²_O)" if logistic else "R²"
    sentence = IMPORTANCE_METHOD.format(
        level=level,
        model=model,
        outcome=spec.name,
        r2=r2,
        value=fitted.get("r2", np.nan),
        resamples=resamples,
    )
    if fitted.get("sample"):
        sentence += SAMPLE_NOTE.format(n=fitted["sample"], total=fitted["with_outcome"])
    df.attrs |= {**fitted, "method": sentence, "missing": MISSING, "model": model,
                 "r2_name": r2, "outcome": spec.name, "level": level,
                 "scale": spec.scale}  # fmt: skip
    return df
