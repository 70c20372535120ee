"""What is in the store: counts by study, stage and channel (Ibis, computed in the engine)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from cxdata.analysis.order import NONE, in_journey_order
from cxdata.engine import Engine


def observation_counts(engine: Engine) -> pd.DataFrame:
    """Observations and customers per study, stage and channel; stages in journey order."""
    with engine.ibis() as backend:
        obs = backend.table("observations")
        expr = obs.group_by(["study", "stage", "channel"]).aggregate(
            observations=obs.count(), customers=obs.customer_id.nunique()
        )
        df = expr.to_pandas()
    df["channel"] = df["channel"].fillna(NONE)
    df["study"] = df["study"].fillna(NONE)
    order = engine.stage_order(df["stage"].unique())
    return in_journey_order(df, order, ["channel"], first=["study"])


@dataclass(frozen=True)
class FilterOptions:
    """What the filter widgets offer."""

    columns: dict[str, list[str]]
    attributes: dict[str, list[str]]
    dates: tuple[dt.date, dt.date] | None


def filter_options(engine: Engine) -> FilterOptions:
    """Values a user can filter on: observation columns, attributes, the date range."""
    with engine.ibis() as backend:
        obs = backend.table("observations")
        columns = {
            col: sorted(
                map(str, obs.filter(obs[col].notnull()).select(col).distinct().to_pandas()[col])
            )
            for col in ("study", "channel", "observer", "method")
        }
        span = obs.aggregate(lo=obs.observed_at.min(), hi=obs.observed_at.max()).to_pandas()
        attrs = backend.table("customer_attributes")
        pairs = attrs.select("name", "value").distinct().to_pandas()
    attributes = {
        name: sorted(group["value"].astype(str), key=_natural)
        for name, group in pairs.groupby("name")
    }
    lo, hi = span["lo"].iloc[0], span["hi"].iloc[0]
    dates = None if pd.isna(lo) else (lo.date(), hi.date())
    return FilterOptions(columns, attributes, dates)


def _natural(value: str) -> tuple[float, str]:
    """Numbers in numeric order (2 before 10), text after them alphabetically."""
    try:
        return (float(value), "")
    except ValueError:
        return (float("inf"), value)
