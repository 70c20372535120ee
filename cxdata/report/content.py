"""What the executive report says, computed by the same functions the CLI and the pages
call (so every number in it is theirs): headline counts and stages, stage x segment
scores, the fix-first list, persona cards with their outcome KPIs, the significant
differences of each segment against everyone else, and what the methods page states."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxdata.analysis.compare import Segment, compare, segment_names, summary
from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters
from cxdata.analysis.order import NONE, UNKNOWN
from cxdata.analysis.outcomes import outcome_kpis
from cxdata.analysis.priorities import outcome_choices, priorities
from cxdata.analysis.scoring import attribute_names, headline, stage_scores, totals
from cxdata.config import Settings
from cxdata.engine import Engine
from cxdata.personas.models import PersonaModel, fingerprint, latest_model
from cxdata.store import Store

MAX_SEGMENTS = 12
"""Segments the report compares with everyone else (one comparison each)."""


@dataclass
class ReportContent:
    """Everything the report shows, as small tables and texts (no chart, no markup)."""

    filters: Filters
    settings: Settings
    segment: str
    totals: dict[str, int]
    overall: pd.DataFrame
    head: dict[str, Any]
    by_segment: pd.DataFrame
    stages: list[str]
    outcome: str | None
    positive: str | None
    fix_first: pd.DataFrame | None
    no_fix_first: str
    model: PersonaModel | None
    persona_kpis: pd.DataFrame
    overall_kpis: pd.DataFrame
    differences: list[str]
    fingerprint: str
    stale: bool
    period: str = "observed_year"
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend_periods: list[str] = field(default_factory=list)
    trend_sentences: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def default_segment(engine: Engine, model: PersonaModel | None) -> str:
    """Personas when a model exists, else the first attribute with 2-12 values (as the
    heatmap page opens), else study."""
    if model is not None:
        return "persona"
    for name in attribute_names(engine):
        with engine.ibis() as backend:
            attrs = backend.table("customer_attributes")
            n = attrs.filter(attrs.name == name).value.nunique().to_pyarrow().as_py()
        if 2 <= int(n or 0) <= 12:
            return name
    return "study"


def default_outcome(engine: Engine) -> tuple[str | None, str | None]:
    """The outcome of the fix-first list: nps if there is one, else the first outcome the
    priorities accept; (None, None) without any."""
    choices = outcome_choices(engine)
    if not choices:
        return None, None
    name = "nps" if "nps" in choices else next(iter(choices))
    values = choices[name]
    return name, (values[0] if values else None)


def gather(
    engine: Engine,
    store: Store,
    filters: Filters = NO_FILTERS,
    segment: str | None = None,
    outcome: str | None = None,
    positive: str | None = None,
) -> ReportContent:
    """Compute the report's content (FilterError for an unknown segment or outcome)."""
    started = time.perf_counter()
    model = latest_model(store)
    segment = segment or default_segment(engine, model)
    if segment == "persona" and model is None:
        raise FilterError("there is no persona model yet: run `cxdata personas` first")
    counts = totals(engine, filters)
    overall = stage_scores(engine, [], filters)
    by_segment = stage_scores(engine, [segment], filters)
    if outcome is None:
        outcome, positive = default_outcome(engine)
    fix_first, no_fix_first = None, "There is no outcome in the store to prioritise by."
    if outcome is not None:
        choices = outcome_choices(engine)
        if outcome not in choices:
            known = ", ".join(choices) or "none"
            raise FilterError(f"unknown outcome {outcome}; choose from: {known}")
        if positive is None and choices[outcome]:
            positive = choices[outcome][0]
        fix_first = priorities(engine, outcome, positive, "stage", filters)
    persona_kpis = outcome_kpis(engine, "persona", filters) if model else pd.DataFrame()
    overall_kpis = outcome_kpis(engine, None, filters)
    differences = segment_differences(engine, segment, by_segment, filters, model)
    print_stale = model is not None and _stale(store, model)
    period, trend, found, moves = trend_of(engine, filters)
    return ReportContent(
        filters, engine.settings, segment, counts, overall, headline(overall, engine.settings),
        by_segment, list(overall["stage"]), outcome, positive, fix_first, no_fix_first, model,
        persona_kpis, overall_kpis, differences, fingerprint(store), print_stale,
        period, trend, found, moves, {"data_s": time.perf_counter() - started},
    )  # fmt: skip


def trend_of(engine: Engine, filters: Filters) -> tuple[str, pd.DataFrame, list[str], list[str]]:
    """The trend as the Trends page opens it (years when the data spans two or more, else
    quarters, else months) and, with two periods or more, the tested change from the first
    to the last (`cxdata trends --from FIRST --to LAST`)."""
    from cxdata.analysis.overview import filter_options
    from cxdata.analysis.trends import change, default_period, net_trend, periods, sentences

    period = default_period(filter_options(engine).dates)
    trend = net_trend(engine, period, filters)
    found = [p for p in periods(trend, period) if p != NONE]
    moves = []
    if len(found) >= 2:
        moves = sentences(change(engine, period, found[0], found[-1], filters), found[0],
                          found[-1])  # fmt: skip
    return period, trend, found, moves


def _stale(store: Store, model: PersonaModel) -> bool:
    from cxdata.personas.models import is_stale

    return is_stale(store, model)


def segment_differences(
    engine: Engine,
    segment: str,
    by_segment: pd.DataFrame,
    filters: Filters,
    model: PersonaModel | None,
) -> list[str]:
    """One sentence per segment value (up to MAX_SEGMENTS) against everyone else, by stage:
    what differs significantly after correction (`cxdata.analysis.compare.summary`).
    Personas are picked by number (a name could be a number), named by name."""
    if segment != "persona" and segment not in segment_names(engine):
        return []
    if segment == "persona" and model is not None:
        pairs = [(str(p["persona"]), str(p["name"])) for p in model.profiles]
    else:
        values = dict.fromkeys(by_segment[segment].astype(str))
        pairs = [(v, v) for v in values if v != UNKNOWN]
    sentences = []
    for value, label in pairs[:MAX_SEGMENTS]:
        table = compare(engine, Segment(((segment, value),)), Segment(rest=True), "stage", filters)
        sentences.append(summary(table, label, "everyone else", "stage"))
    return sentences
