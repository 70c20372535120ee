"""Inter-observer agreement and observer bias over double-coded units.

A unit (`cxdata.analysis.units`) coded by two or more observers gives one value per
observer: the sum of that observer's scores for the unit. Only those units enter here. The
engine groups the observations per unit and observer (an Ibis expression); the statistics
run on that small table (`cxdata.analysis.alpha`, `cxdata.analysis.observer_bias`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxdata.analysis import alpha as a
from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.observer_bias import METHOD as BIAS_METHOD
from cxdata.analysis.observer_bias import observer_bias
from cxdata.analysis.order import NONE, in_journey_order
from cxdata.analysis.units import UNIT_KEYS, observer_column
from cxdata.engine import Engine

BY = ("stage", "touchpoint")
DISAGREEMENTS = 20
UNIT_COLUMNS = list(UNIT_KEYS)
METHOD = (
    "Agreement: Krippendorff's alpha (the krippendorff package) over the units coded by two "
    "or more observers, each observer's value being the sum of their scores for the unit; "
    "95% interval: percentile bootstrap over units (1,000 resamples, seed 0). 0.80 is the "
    "usual bar, 0.667 the floor for tentative conclusions. Percent agreement: the share of "
    "pairs of values in a unit that are equal. Gwet's AC1 (the values as categories) is "
    "shown when one value holds 80% or more of them, where alpha collapses. " + BIAS_METHOD
)


@dataclass
class AgreementReport:
    """What the CLI prints and the Observation quality page shows."""

    metric: str
    overall: dict[str, Any]
    by: pd.DataFrame
    observers: pd.DataFrame
    disagreements: pd.DataFrame
    values: pd.DataFrame = field(repr=False)

    def to_json(self, by_name: str) -> dict[str, Any]:
        """The JSON of `cxdata agreement --json`."""
        by_cols = [c for c in (by_name, "stage") if c in self.by.columns]
        by_cols = list(dict.fromkeys(by_cols))
        return {
            "overall": _plain(self.overall),
            "by": _records(self.by[[*by_cols, "alpha", "ci_low", "ci_high", "units"]]),
            "observers": _records(
                self.observers[["observer", "bias", "ci_low", "ci_high", "units", "flagged"]]
            ),
            "disagreements": [
                {
                    **_plain({k: row[k] for k in (*UNIT_COLUMNS, "spread")}),
                    "values": _plain(row["values"]),
                    "notes": row["notes"],
                }
                for _, row in self.disagreements.iterrows()
            ],  # fmt: skip
        }


def observer_values(engine: Engine, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """One row per double-coded unit and observer: the unit's columns, `unit` (a number),
    observer, value (the sum of the observer's scores there), observations and notes."""
    with engine.ibis() as backend:
        obs = filters.apply(backend)
        obs = obs.mutate(_who=observer_column(obs))
        per = obs.group_by([*UNIT_COLUMNS, "_who"]).aggregate(
            value=obs.score.sum(),
            observations=obs.count(),
            notes=obs.note.group_concat("; "),
        )
        window = ibis.window(group_by=[per[k] for k in UNIT_COLUMNS])
        per = per.mutate(_observers=per.count().over(window))
        df = per.filter(per._observers >= 2).drop("_observers").to_pandas()
        order = engine.stage_order(df["stage"].unique()) if len(df) else []
    df = df.rename(columns={"_who": "observer"})
    df["observer"] = df["observer"].replace({"\x00": NONE})
    df["notes"] = df["notes"].fillna("")
    df["unit"] = df.groupby(UNIT_COLUMNS, dropna=False, sort=True).ngroup()
    df = in_journey_order(df, order, ["touchpoint"]) if len(df) else df
    return df.sort_values(["unit", "observer"], kind="stable").reset_index(drop=True)


def summarise(
    values: pd.DataFrame, metric: str = "interval", resamples: int = a.RESAMPLES, seed: int = a.SEED
) -> dict[str, Any]:
    """alpha, its bootstrap interval, units, pairable values, percent agreement, AC1, the
    share of the most common value and the reading, for one set of units."""
    c = a.Coincidences.of(values["unit"].to_numpy(), values["value"].to_numpy(float))
    value = a.alpha(c, metric)
    low, high = a.bootstrap(c, metric, resamples, seed)
    dominant = a.dominant_share(c)
    return {
        "alpha": value, "ci_low": low, "ci_high": high, "units": c.units, "values": c.values,
        "percent_agreement": a.percent_agreement(c), "ac1": a.gwet_ac1(c),
        "dominant_share": dominant, "ac1_shown": bool(dominant >= a.DOMINANT_SHARE),
        "reading": a.reading(value), "metric": metric,
    }  # fmt: skip


def agreement(
    engine: Engine,
    by: str = "stage",
    metric: str = "interval",
    filters: Filters = NO_FILTERS,
    resamples: int = a.RESAMPLES,
    seed: int = a.SEED,
    disagreements: int = DISAGREEMENTS,
) -> AgreementReport:
    """Agreement overall and per stage (or touchpoint), observer bias and the largest
    disagreements, over the double-coded units within the filters."""
    if by not in BY:
        raise FilterError(f'--by is "stage" or "touchpoint", not "{by}"')
    if metric not in a.METRICS:
        raise FilterError(f'--metric is one of {", ".join(a.METRICS)}, not "{metric}"')
    values = observer_values(engine, filters)
    overall = summarise(values, metric, resamples, seed)
    keys = ["stage"] if by == "stage" else ["stage", "touchpoint"]
    rows = []
    for key, group in values.groupby(keys, dropna=False, sort=False):
        names = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        if by == "touchpoint" and not isinstance(names["touchpoint"], str):
            names["touchpoint"] = NONE
        rows.append({**names, **summarise(group, metric, resamples, seed)})
    columns = [*keys, "alpha", "ci_low", "ci_high", "units", "values", "percent_agreement",
               "reading"]  # fmt: skip
    by_table = pd.DataFrame(rows, columns=[*columns, "ac1"])[columns]
    if len(by_table):
        order = engine.stage_order(by_table["stage"].unique())
        by_table = in_journey_order(by_table, order, keys[1:])
    observers = observer_bias(values[["unit", "observer", "value"]])
    return AgreementReport(
        metric, overall, by_table, observers, largest_disagreements(values, disagreements), values
    )


def largest_disagreements(values: pd.DataFrame, limit: int = DISAGREEMENTS) -> pd.DataFrame:
    """The units whose observers' values lie furthest apart (max - min), with each
    observer's value and notes: what a lead researcher recalibrates the team with."""
    if values.empty:
        return pd.DataFrame(columns=[*UNIT_COLUMNS, "spread", "values", "notes"])
    grouped = values.groupby("unit", sort=False)
    spread = (grouped["value"].max() - grouped["value"].min()).astype(float)
    top = spread.sort_values(ascending=False, kind="stable").head(limit)
    rows = []
    for unit, gap in top.items():
        group = values[values["unit"] == unit]
        first = group.iloc[0]
        rows.append({
            **{k: first[k] for k in UNIT_COLUMNS}, "spread": gap,
            "values": dict(zip(group["observer"], group["value"].astype(float), strict=True)),
            "notes": dict(zip(group["observer"], group["notes"], strict=True)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def coverage(engine: Engine, filters: Filters = NO_FILTERS) -> pd.DataFrame:
    """Observations and customers per observer x stage (all observations, so gaps show)."""
    with engine.ibis() as backend:
        obs = filters.apply(backend)
        obs = obs.mutate(observer=obs.observer.fill_null(NONE))
        df = (
            obs.group_by(["observer", "stage"])
            .aggregate(observations=obs.count(), customers=obs.customer_id.nunique())
            .to_pandas()
        )
        order = engine.stage_order(df["stage"].unique()) if len(df) else []
    return in_journey_order(df, order, ["observer"]) if len(df) else df


def _plain(d: dict[Any, Any]) -> dict[str, Any]:
    """JSON-ready: numpy numbers as Python numbers, NaN as null."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[str(k)] = v
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(r) for r in df.to_dict("records")]
