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
import ibis.expr.types as ir
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters, bound_values
from cxdata.analysis.sampling import seeded_sample
from cxdata.analysis.units import counted_once, double_coded, observation_count, observations
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
    customers: int | None = None
    """All customers with features; more than the frame's rows when it is a sample."""
    scaling: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Rated column -> (mean, sd) that standardised it for level and shape."""

    @property
    def sampled(self) -> bool:
        """Whether the frame holds a sample of the customers, not all of them."""
        return self.customers is not None and self.customers > len(self.frame)

    @property
    def model_columns(self) -> list[str]:
        """The columns personas are found on."""
        return [c for g in ("numeric", "rated", "categorical") for c in self.groups.get(g, [])]

    @property
    def rated_stages(self) -> list[str]:
        return [s for s, rule in self.gaps.items() if rule == NOT_RATED]


@dataclass(frozen=True)
class FeaturePlan:
    """What the per-customer feature table holds, decided once (stages in journey order,
    what their gaps mean, channels, attributes by kind); `table` builds it on any backend,
    so the same features can be read for the fit and computed again where customers are
    assigned (inside the store's write transaction, or on Spark)."""

    stages: tuple[str, ...]
    kinds: dict[str, str]
    channels: tuple[str, ...]
    attributes: tuple[str, ...]
    numeric_attrs: tuple[str, ...]
    categorical: tuple[str, ...]
    filters: Filters = NO_FILTERS
    double_coded: bool = False

    def rated(self) -> list[str]:
        """The `score__` columns of stages whose gaps mean "not rated"."""
        return [feature_name("score", s) for s in self.stages if self.kinds[s] == NOT_RATED]

    def table(self, backend: ibis.BaseBackend) -> ir.Table:
        """customer_id and the raw features (before level and shape) of every customer with
        a (filtered) observation, as an Ibis expression: nothing is read yet."""
        obs = self.filters.apply(backend)
        obs = counted_once(obs) if self.double_coded else obs  # double-coded units once
        with_channel = obs.count(where=obs.channel.notnull())  # surveys have no channel
        metrics = {}
        for stage in self.stages:
            in_stage = obs.stage == stage
            if self.kinds[stage] == NOT_RATED:
                # the mean rating; a double-coded unit's rows count as one (`units`)
                count = observation_count(obs, in_stage)
                metrics[feature_name("score", stage)] = obs.score.sum(where=in_stage) / count
                continue
            metrics[feature_name("score", stage)] = obs.score.sum(where=in_stage)
            metrics[feature_name("n", stage)] = observation_count(obs, in_stage)
        for channel in self.channels:
            metrics[feature_name("channel", channel)] = (
                obs.count(where=obs.channel == channel) / with_channel
            )
        wide = obs.group_by("customer_id").aggregate(**metrics)
        names = self.attributes
        if not names:
            return wide
        attrs = backend.table("customer_attributes")
        wanted = bound_values(("name",), [(a,) for a in names]).name
        chosen = attrs.filter((attrs.kind == "attribute") & attrs.name.isin(wanted))
        values = {
            feature_name("attr", name): (
                chosen.number if name in self.numeric_attrs else chosen.value
            ).min(where=chosen.name == name)  # the smallest when a customer has several
            for name in names
        }
        per_customer = chosen.group_by("customer_id").aggregate(**values)
        joined = wide.left_join(per_customer, wide.customer_id == per_customer.customer_id)
        return joined.select(*wide.columns, *values)

    def source(self) -> dict[str, tuple[str, str]]:
        """Column -> (kind, stage/channel/attribute) of the raw features."""
        source: dict[str, tuple[str, str]] = {}
        for stage in self.stages:
            source[feature_name("score", stage)] = ("score", stage)
            if self.kinds[stage] != NOT_RATED:
                source[feature_name("n", stage)] = ("n", stage)
        for channel in self.channels:
            source[feature_name("channel", channel)] = ("channel", channel)
        return source


def feature_plan(
    engine: Engine,
    attributes: list[str] | None = None,
    filters: Filters = NO_FILTERS,
    gaps: str = "auto",
) -> FeaturePlan:
    """The features `customer_features` computes (default attributes: `default_attributes`)."""
    attributes = default_attributes(engine) if attributes is None else attributes
    with engine.ibis() as backend:
        stages = _observed_stages(engine, backend)
        meaning = _gap_meaning(backend, gaps)
        obs = observations(engine, backend, filters)
        seen = obs.filter(obs.channel.notnull()).select("channel").distinct().to_pandas()
        channels = sorted(str(c) for c in seen["channel"])
        numeric_attrs, categorical = _attribute_columns(backend, attributes)
    kinds = {s: meaning.get(s, NOT_OBSERVED) for s in stages}
    return FeaturePlan(tuple(stages), kinds, tuple(channels), tuple(attributes),
                       tuple(numeric_attrs), tuple(categorical), filters,
                       double_coded(engine))  # fmt: skip


def customer_features(
    engine: Engine,
    attributes: list[str] | None = None,
    filters: Filters = NO_FILTERS,
    gaps: str = "auto",
    *,
    limit: int | None = None,
    seed: int = 0,
    plan: FeaturePlan | None = None,
) -> Features:
    """Stage scores and counts, channel shares (stages in journey order) and the chosen
    attributes (default: `default_attributes`); for stages whose gaps mean "not rated"
    (`gaps`: a rule of `gaps.GAP_RULES`), level and shape instead of scores and counts.

    With `limit`, at most that many customers are read: all of them when there are no
    more, else a seeded sample drawn in the engine (`seeded_sample`); `customers` says how
    many there are in all."""
    plan = plan or feature_plan(engine, attributes, filters, gaps)
    with engine.ibis() as backend:
        wide = plan.table(backend)
        read = wide if limit is None else seeded_sample(wide, limit + 1, seed)
        df = read.to_pandas()
        total = len(df)
        if limit is not None and total > limit:
            df = df.iloc[:limit]
            total = int(wide.count().to_pandas())
    df = df.set_index("customer_id").sort_index()
    source = plan.source()
    for name in plan.attributes:
        source[feature_name("attr", name)] = ("attr", name)
    rated = plan.rated()
    scaling = rated_scaling(df, rated)
    shape = level_and_shape(df, rated, scaling)
    for column in shape.columns:
        df[column] = shape[column]
        scored = column.replace("shape", "score", 1)
        source[column] = ("level", "") if column == "level" else ("shape", source[scored][1])
    numeric = [c for c in df.columns if c.split("__")[0] in ("score", "n", "channel")
               and c not in rated]  # fmt: skip
    numeric += (["level"] if rated else []) + [feature_name("attr", n) for n in plan.numeric_attrs]
    groups = {
        "numeric": numeric,
        "rated": [c for c in shape.columns if c != "level"],
        "categorical": [feature_name("attr", n) for n in plan.categorical],
    }
    return Features(df, groups, source, dict(plan.kinds), total, scaling)


def rated_scaling(df: pd.DataFrame, rated: list[str]) -> dict[str, tuple[float, float]]:
    """Per rated column, the mean and standard deviation (1 when 0 or unknown) that
    standardise it for `level_and_shape`; kept with the model, so the engine standardises
    every customer as the fitted ones were."""
    scores = df[rated].astype(float)
    sd = scores.std().replace(0.0, 1.0).fillna(1.0)
    mean = scores.mean()
    return {c: (float(mean[c]), float(sd[c])) for c in rated}


def level_and_shape(
    df: pd.DataFrame, rated: list[str], scaling: dict[str, tuple[float, float]] | None = None
) -> pd.DataFrame:
    """`level` = the customer's mean standardised rating over the items they rated;
    `shape__Stage` = their standardised rating there minus their level (missing when not
    rated). Standardising per item first keeps a rarely rated, harshly judged item (Wi-Fi)
    from moving the level of those who rated it."""
    if not rated:
        return pd.DataFrame(index=df.index)
    scores = df[rated].astype(float)
    if scaling is None:
        sd = scores.std().replace(0.0, 1.0).fillna(1.0)
        z = (scores - scores.mean()) / sd
    else:
        mean = pd.Series({c: scaling[c][0] for c in rated})
        z = (scores - mean) / pd.Series({c: scaling[c][1] for c in rated})
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
