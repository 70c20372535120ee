"""Per-customer features, built in the engine: one row per customer.

Per stage: the experience score (sum of interaction scores; missing when the stage was not
observed, to be imputed with an indicator, never silently zero) and the number of
observations; the channel mix (share of the customer's observations per channel); chosen
customer attributes (numeric ones as numbers, the rest as categories).

Stages whose gaps mean "not rated" (`gaps`) are features of shape and level instead: the
customer's overall level (mean of their standardised ratings) is one feature, and per stage
the rating relative to that level (`shape__Stage`): where they are delighted or disappointed
compared with their own average. Their counts and gaps are no features; `score__Stage` (the
mean rating) stays in the frame to describe the personas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ibis
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters, bound_values
from cxdata.analysis.units import observation_count, observations
from cxdata.engine import Engine
from cxdata.personas.gaps import NOT_OBSERVED, NOT_RATED, stage_gaps

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
    `numeric`, `rated` (relative ratings whose gaps mean "not rated": imputed at the
    customer's own level, no indicator) and `categorical`; `source` says what each column
    is: (kind, stage/channel/attribute name), kind one of score, n, channel, attr, level,
    shape; `gaps` what a missing stage means (gaps.NOT_RATED or gaps.NOT_OBSERVED).
    Columns in no group (`score__` of rated stages) only describe the personas."""

    frame: pd.DataFrame
    groups: dict[str, list[str]]
    source: dict[str, tuple[str, str]]
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def model_columns(self) -> list[str]:
        """The columns personas are found on."""
        return [c for g in ("numeric", "rated", "categorical") for c in self.groups.get(g, [])]

    @property
    def rated_stages(self) -> list[str]:
        return [s for s, rule in self.gaps.items() if rule == NOT_RATED]


def customer_features(
    engine: Engine,
    attributes: list[str] | None = None,
    filters: Filters = NO_FILTERS,
    gaps: str = "auto",
) -> Features:
    """Stage scores and counts, channel shares (stages in journey order) and the chosen
    attributes (default: `default_attributes`); for stages whose gaps mean "not rated"
    (`gaps`: a rule of `gaps.GAP_RULES`), level and shape instead of scores and counts."""
    attributes = default_attributes(engine) if attributes is None else attributes
    with engine.ibis() as backend:
        stages = _observed_stages(engine, backend)
        meaning = _gap_meaning(backend, gaps)
        obs = observations(engine, backend, filters)  # double-coded units count once
        seen = obs.filter(obs.channel.notnull()).select("channel").distinct().to_pandas()
        channels = sorted(str(c) for c in seen["channel"])
        with_channel = obs.count(where=obs.channel.notnull())  # surveys have no channel
        metrics = {}
        source: dict[str, tuple[str, str]] = {}
        for stage in stages:
            in_stage = obs.stage == stage
            source[feature_name("score", stage)] = ("score", stage)
            if meaning.get(stage) == NOT_RATED:
                # the mean rating; a double-coded unit's rows count as one (`units`)
                count = observation_count(obs, in_stage)
                metrics[feature_name("score", stage)] = obs.score.sum(where=in_stage) / count
                continue
            metrics[feature_name("score", stage)] = obs.score.sum(where=in_stage)
            metrics[feature_name("n", stage)] = observation_count(obs, in_stage)
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
    kinds = {s: meaning.get(s, NOT_OBSERVED) for s in stages}
    rated = [feature_name("score", s) for s in stages if kinds[s] == NOT_RATED]
    shape = level_and_shape(df, rated)
    for column in shape.columns:
        df[column] = shape[column]
        scored = column.replace("shape", "score", 1)
        source[column] = ("level", "") if column == "level" else ("shape", source[scored][1])
    numeric = [c for c in df.columns if c.split("__")[0] in ("score", "n", "channel")
               and c not in rated]  # fmt: skip
    numeric += (["level"] if rated else []) + [feature_name("attr", n) for n in numeric_attrs]
    groups = {
        "numeric": numeric,
        "rated": [c for c in shape.columns if c != "level"],
        "categorical": [feature_name("attr", n) for n in categorical],
    }
    return Features(df, groups, source, kinds)


def level_and_shape(df: pd.DataFrame, rated: list[str]) -> pd.DataFrame:
    """`level` = the customer's mean standardised rating over the items they rated;
    `shape__Stage` = their standardised rating there minus their level (missing when not
    rated). Standardising per item first keeps a rarely rated, harshly judged item (Wi-Fi)
    from moving the level of those who rated it."""
    if not rated:
        return pd.DataFrame(index=df.index)
    scores = df[rated].astype(float)
    sd = scores.std().replace(0.0, 1.0).fillna(1.0)
    z = (scores - scores.mean()) / sd
    level = z.mean(axis=1)
    shape = z.sub(level, axis=0)
    shape.columns = [c.replace("score", "shape", 1) for c in rated]
    return pd.concat([level.rename("level"), shape], axis=1)


def _gap_meaning(backend: ibis.BaseBackend, rule: str) -> dict[str, str]:
    """Stage -> what its gaps mean, from every batch's mapping (see `gaps.stage_gaps`)."""
    obs = backend.table("observations")
    pairs = obs.select("stage", "batch_id").distinct().to_pandas()
    batches = backend.table("batches").select("batch_id", "mapping").to_pandas()
    return stage_gaps(pairs, batches, rule)


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
