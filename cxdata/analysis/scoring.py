"""Experience scores per stage and group, computed in the engine (Ibis expressions over an
`Engine`: DuckDB or Spark).

Definitions (shown in the app under "How scores are computed"):
- a unit is one customer x stage x touchpoint (x interaction code when present); when several
  observers coded the same unit (double coding), it counts once: its score is the mean of
  their values, each observer's value being the sum of their scores for that unit (the
  observation counts below still count every recorded row);
- a customer's cell score is the sum of their unit scores in the cell (stage x
  group, within the filters); positives and negatives are also summed separately;
- per cell: n_customers (customers with at least one observation there), n_observations,
  mean_score (mean of customer cell scores) with a 95% t confidence interval,
  delight_share (share of those customers with cell score > 0), disappointment_share
  (< 0), net_experience = delight_share - disappointment_share, verdict (delight if
  net >= delight_threshold, disappointment if net <= disappointment_threshold, else
  neutral) and low_n (n_customers < min_customers).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters, bound_values
from cxdata.analysis.order import NONE, UNKNOWN, in_journey_order
from cxdata.analysis.segments import customer_values
from cxdata.analysis.units import counted_once, double_coded
from cxdata.config import Settings
from cxdata.engine import Engine
from cxdata.store.schema import PERIODS

OBSERVATION_DIMENSIONS = ("touchpoint", "channel", "study", "observer", "method", "interaction")
DERIVED_DIMENSIONS = (*PERIODS, "persona")  # persona: of the latest persona model
SCORE_FIELDS = ["n_customers", "n_observations", "mean_score", "ci_low", "ci_high",
                "mean_positive", "mean_negative", "delight_share", "disappointment_share",
                "net_experience", "verdict", "low_n"]  # fmt: skip

DEFINITIONS = __doc__.split('Definitions (shown in the app under "How scores are computed"):')[1]


def attribute_names(engine: Engine) -> list[str]:
    """Customer attribute and outcome names present in the engine's data."""
    with engine.ibis() as backend:
        return _attribute_names(backend)


def _attribute_names(backend: ibis.BaseBackend) -> list[str]:
    names = backend.table("customer_attributes").select("name").distinct().to_pyarrow()
    return sorted(str(name) for name in names.column("name").to_pylist())


def check_dimensions(by: list[str], attributes: list[str]) -> None:
    """Every grouping name must be a known dimension or attribute (never free SQL)."""
    known = {*OBSERVATION_DIMENSIONS, *DERIVED_DIMENSIONS, *attributes}
    for name in by:
        if name not in known:
            raise FilterError(f'cannot group by "{name}"; choose from: {", ".join(sorted(known))}')


def _check_names(backend: ibis.BaseBackend, by: list[str]) -> None:
    """`check_dimensions` without reading every attribute name when all are known: only the
    names asked for are looked up (as data, a semi-join: an unchecked name never becomes
    query text)."""
    asked = [n for n in by if n not in {*OBSERVATION_DIMENSIONS, *DERIVED_DIMENSIONS}]
    if not asked:
        return
    wanted = bound_values(("name",), [(n,) for n in asked])
    attrs = backend.table("customer_attributes")
    found = attrs.filter(attrs.name.isin(wanted.name)).select("name").distinct().to_pyarrow()
    if set(asked) - set(found.column("name").to_pylist()):
        check_dimensions(by, _attribute_names(backend))  # raises, listing the choices


def _customer_level(name: str) -> bool:
    """Personas and attributes describe customers; the other dimensions each observation."""
    return name not in (*OBSERVATION_DIMENSIONS, *PERIODS)


def period_of(observed_at: ir.TimestampValue, period: str) -> ir.StringValue:
    """The period label of a timestamp: 2026-03 (month), 2026-Q1 (quarter), 2026 (year)."""
    year = observed_at.year().cast("string")
    if period == "observed_month":
        return observed_at.strftime("%Y-%m")
    if period == "observed_quarter":
        return year.concat("-Q", observed_at.quarter().cast("string"))
    if period == "observed_year":
        return year
    raise FilterError(f'unknown period "{period}"; choose from: {", ".join(PERIODS)}')


def _with_dimensions(backend: ibis.BaseBackend, table: ir.Table, by: list[str]) -> ir.Table:
    """Add one column per grouping dimension: periods from the observation time, customer-level
    values by joining them per customer. Nothing is dropped: an optional value that was not
    recorded groups as NONE, a customer without a value of the attribute (or persona) as
    UNKNOWN."""
    for name in by:
        if name in PERIODS:
            table = table.mutate(**{name: period_of(table.observed_at, name).fill_null(NONE)})
        elif _customer_level(name):
            values = customer_values(backend, name)
            joined = table.left_join(values, table.customer_id == values._cid).drop("_cid")
            table = joined.mutate(**{name: joined[name].fill_null(UNKNOWN)})
        else:
            table = table.mutate(**{name: table[name].fill_null(NONE)})
    return table


def cell_scores(
    backend: ibis.BaseBackend,
    by: list[str],
    filters: Filters = NO_FILTERS,
    double_coding: bool = True,
) -> ir.Table:
    """Per customer and cell (stage x `by`, within the filters): the cell score (sum of the
    customer's interaction scores there), its positive and negative parts and the number of
    observations. Every statistic (scores, comparisons, priorities) starts from this.

    Double-coded units count once (`cxdata.analysis.units`); `double_coding=False` (from
    `units.double_coded(engine)`: the data has none) skips that step, which costs a pass.
    Observations are aggregated first; persona and attribute values are joined to the much
    smaller per-customer cells afterwards."""
    obs = filters.apply(backend)
    per_observation = [d for d in by if not _customer_level(d)]
    obs = _with_dimensions(backend, obs, per_observation)
    if double_coding:
        obs = counted_once(obs, per_observation)
    cells = obs.group_by(["customer_id", "stage", *per_observation]).aggregate(
        score=obs.score.sum(),
        positive=ibis.greatest(obs.score, 0).sum(),  # score is NOT NULL: no NULL handling
        negative=ibis.least(obs.score, 0).sum(),
        n_obs=obs.count(),
    )
    return _with_dimensions(backend, cells, [d for d in by if _customer_level(d)])


def score_expr(
    backend: ibis.BaseBackend,
    by: list[str],
    filters: Filters = NO_FILTERS,
    double_coding: bool = True,
) -> ir.Table:
    """The Ibis expression behind `stage_scores` (before the small pandas finish)."""
    cells = cell_scores(backend, by, filters, double_coding)
    return cells.group_by(["stage", *by]).aggregate(
        n_customers=cells.count(),
        n_observations=cells.n_obs.sum(),
        mean_score=cells.score.mean(),
        sd=cells.score.std(),
        mean_positive=cells.positive.mean(),
        mean_negative=cells.negative.mean(),
        delight_share=(cells.score > 0).mean(),
        disappointment_share=(cells.score < 0).mean(),
    )


def stage_scores(
    engine: Engine, by: list[str] | None = None, filters: Filters = NO_FILTERS
) -> pd.DataFrame:
    """One row per stage (x each grouping value) with the fields in SCORE_FIELDS, stages in
    journey order."""
    by = list(by or [])
    shared_units = double_coded(engine)
    # One query block for the name check, the query and the stage order: on DuckDB each
    # open of the file starts with a cold buffer pool.
    with engine.ibis() as backend:
        _check_names(backend, by)
        df = score_expr(backend, by, filters, shared_units).to_pandas()
        order = engine.stage_order(df["stage"].unique())
    return finish(df, by, order, engine.settings)


def finish(df: pd.DataFrame, by: list[str], order: list[str], cfg: Settings) -> pd.DataFrame:
    """Confidence intervals, net, verdict and low-n on the small aggregated table."""
    df = df.copy()
    n = df["n_customers"].astype(float)
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * df["sd"].astype(float) / np.sqrt(n)
    half = half.where(n > 1)
    df["ci_low"], df["ci_high"] = df["mean_score"] - half, df["mean_score"] + half
    # rounded so that 0.5 - 0.3 counts as +0.2 exactly at the threshold
    df["net_experience"] = (df["delight_share"] - df["disappointment_share"]).round(12)
    df["verdict"] = np.select(
        [df["net_experience"] >= cfg.delight_threshold,
         df["net_experience"] <= cfg.disappointment_threshold],
        ["delight", "disappointment"], "neutral",
    )  # fmt: skip
    df["low_n"] = df["n_customers"] < cfg.min_customers
    return in_journey_order(df, order, by)[["stage", *by, *SCORE_FIELDS]]


def headline(scores: pd.DataFrame, cfg: Settings | None = None) -> dict[str, object]:
    """The most delighting stage (best net experience) if one reaches the delight threshold,
    and the most disappointing (worst net) if one reaches the disappointment threshold; None
    for a side no stage reaches: a stage at +0.13 net is never "most disappointing".
    Thresholds from `cfg` (the defaults without)."""
    cfg = cfg or Settings()
    if scores.empty:
        return {"best": None, "worst": None}
    ranked = scores.sort_values("net_experience", kind="stable")
    best, worst = ranked.iloc[-1].to_dict(), ranked.iloc[0].to_dict()
    return {
        "best": best if best["net_experience"] >= cfg.delight_threshold else None,
        "worst": worst if worst["net_experience"] <= cfg.disappointment_threshold else None,
    }


def totals(engine: Engine, filters: Filters = NO_FILTERS) -> dict[str, int]:
    """Observations and distinct customers within the filters (the headline counts)."""
    with engine.ibis() as backend:
        obs = filters.apply(backend)
        row = obs.aggregate(observations=obs.count(), customers=obs.customer_id.nunique())
        df = row.to_pandas()
    return {k: int(df[k].iloc[0]) for k in ("observations", "customers")}


CELL_COLUMNS = ["customer_id", "touchpoint", "channel", "interaction", "score", "observed_at",
                "observer", "note", "study"]  # fmt: skip


def cell_observations(
    engine: Engine,
    filters: Filters,
    stage: str,
    by: str | None = None,
    value: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The observations behind one heatmap cell, most negative first, with their notes."""
    dims = [by] if by else []
    with engine.ibis() as backend:
        _check_names(backend, dims)
        obs = _with_dimensions(backend, filters.apply(backend), dims)
        cell = bound_values(("stage", "value"), [(stage, "" if value is None else value)])
        obs = obs.filter(obs.stage.isin(cell.stage))
        if by:
            obs = obs.filter(obs[by].cast("string").isin(cell.value))  # NONE/UNKNOWN filled
        expr = obs.select(*CELL_COLUMNS).order_by(["score", "observed_at"]).limit(limit)
        return expr.to_pandas()
