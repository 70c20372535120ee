"""Per-customer features, built in the engine: one row per customer.

Per stage: the experience score (sum of interaction scores; missing when the stage was not
observed, to be imputed with an indicator, never silently zero) and the number of
observations; the channel mix (share of the customer's observations per channel); chosen
customer attributes (numeric ones as numbers, the rest as categories).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters, bound_values
from cxdata.analysis.units import observations
from cxdata.engine import Engine

MAX_CATEGORIES = 12


def feature_name(prefix: str, value: str) -> str:
    """A column name safe for every library: `score__Delivery`, `channel__web`."""
    return f"{prefix}__{re.sub(r'[^0-9A-Za-z]+', '_', value).strip('_')}"


def default_attributes(engine: Engine) -> list[str]:
    """Attributes (not outcomes) with 2..MAX_CATEGORIES values, or numeric ones."""
    with engine.ibis() as backend:
        attrs = backend.table("customer_attributes")
        outcomes = attrs.filter(attrs.kind == "outcome").name
        mine = attrs.filter((attrs.kind == "attribute") & ~attrs.name.isin(outcomes))
        df = (
            mine.group_by("name")
            .aggregate(n=mine.value.nunique(), numeric=mine.number.notnull().all())
            .order_by("name")
            .to_pandas()
        )
    keep = df[(df["numeric"]) | ((df["n"] >= 2) & (df["n"] <= MAX_CATEGORIES))]
    return [str(n) for n in keep["name"]]


@dataclass
class Features:
    """One row per customer (index customer_id); `groups` splits the columns into
    `numeric` and `categorical`; `source` says what each column is: (kind, stage/channel/
    attribute name), kind one of score, n, channel, attr."""

    frame: pd.DataFrame
    groups: dict[str, list[str]]
    source: dict[str, tuple[str, str]]


def customer_features(
    engine: Engine, attributes: list[str] | None = None, filters: Filters = NO_FILTERS
) -> Features:
    """Stage scores and counts, channel shares (stages in journey order) and the chosen
    attributes (default: `default_attributes`)."""
    attributes = default_attributes(engine) if attributes is None else attributes
    with engine.ibis() as backend:
        stages = _observed_stages(engine, backend)
        obs = observations(engine, backend, filters)  # double-coded units count once
        seen = obs.filter(obs.channel.notnull()).select("channel").distinct().to_pandas()
        channels = sorted(str(c) for c in seen["channel"])
        with_channel = obs.count(where=obs.channel.notnull())  # surveys have no channel
        metrics = {}
        source: dict[str, tuple[str, str]] = {}
        for stage in stages:
            in_stage = obs.stage == stage
            metrics[feature_name("score", stage)] = obs.score.sum(where=in_stage)
            metrics[feature_name("n", stage)] = obs.count(where=in_stage)
            source[feature_name("score", stage)] = ("score", stage)
            source[feature_name("n", stage)] = ("n", stage)
        for channel in channels:
            metrics[feature_name("channel", channel)] = (
                obs.count(where=obs.channel == channel) / with_channel
            )
            source[feature_name("channel", channel)] = ("channel", channel)
        wide = obs.group_by("customer_id").aggregate(**metrics)
        df = wide.to_pandas().set_index("customer_id").sort_index()
        numeric_attrs, categorical = _attribute_columns(backend, attributes)
        if attributes:
            values = _attribute_values(backend, attributes)
    if attributes:
        for name in attributes:
            rows = values[values["name"] == name].set_index("customer_id")
            column = "number" if name in numeric_attrs else "value"
            df[feature_name("attr", name)] = rows[column].reindex(df.index)
            source[feature_name("attr", name)] = ("attr", name)
    numeric = [c for c in df.columns if not c.startswith("attr__")]
    numeric += [feature_name("attr", n) for n in numeric_attrs]
    groups = {"numeric": numeric, "categorical": [feature_name("attr", n) for n in categorical]}
    return Features(df, groups, source)


def _observed_stages(engine: Engine, backend: ibis.BaseBackend) -> list[str]:
    """The stages with observations (all of them, whatever the filters), in journey order."""
    obs = backend.table("observations")
    observed = set(obs.select("stage").distinct().to_pandas()["stage"].astype(str))
    return [s for s in engine.stage_order(observed) if s in observed]


def _attribute_values(backend: ibis.BaseBackend, attributes: list[str]) -> pd.DataFrame:
    """customer_id, name, value, number: one row per customer and chosen attribute (the
    smallest value when a customer has several)."""
    attrs = backend.table("customer_attributes")
    names = bound_values(("name",), [(a,) for a in attributes])
    chosen = attrs.filter((attrs.kind == "attribute") & attrs.name.isin(names.name))
    return (
        chosen.group_by(["customer_id", "name"])
        .aggregate(value=chosen.value.min(), number=chosen.number.min())
        .to_pandas()
    )


def _attribute_columns(
    backend: ibis.BaseBackend, attributes: list[str]
) -> tuple[list[str], list[str]]:
    """Split attributes into numeric (every value a number) and categorical."""
    if not attributes:
        return [], []
    attrs = backend.table("customer_attributes")
    kinds = (
        attrs.filter(attrs.name.isin(attributes))
        .group_by("name")
        .aggregate(numeric=attrs.number.notnull().all())
        .to_pandas()
    )
    numeric = set(kinds[kinds["numeric"]]["name"])
    return [a for a in attributes if a in numeric], [a for a in attributes if a not in numeric]
