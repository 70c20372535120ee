"""The app's data access: the store of this process and every cached read the pages use.

Caches are keyed by the store's data version (and everything else a result depends on),
so new batches show at once; cxdata below this package knows nothing of Streamlit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pandas as pd
import streamlit as st

from cxdata.analysis.compare import Segment, compare
from cxdata.analysis.filters import FilterError, Filters
from cxdata.analysis.order import levels_in_journey_order
from cxdata.analysis.overview import FilterOptions, filter_options, observation_counts
from cxdata.analysis.scoring import attribute_names, stage_scores
from cxdata.analysis.scoring import totals as scoring_totals
from cxdata.analysis.segments import latest_names
from cxdata.app import actions
from cxdata.app.auth import Principal
from cxdata.config import APP_KEEP_OPEN_S, Settings
from cxdata.engine import DuckDBEngine, Engine, open_engine
from cxdata.ingest import IngestError, IngestResult
from cxdata.personas.models import latest_model_id
from cxdata.sample.load import load_sample
from cxdata.store import Store

if TYPE_CHECKING:
    from cxdata.personas.estimator import PersonaSettings
    from cxdata.personas.models import PersonaModel


@st.cache_resource(show_spinner=False)
def _store(db_path: str) -> Store:
    """Sandboxed from its first connection: DuckDB reads no file but uploads (in the
    store's scratch folder) and the sample data files, and accepts no SET."""
    from cxdata.sample import DATA_FILES, SAMPLE_DIR

    sample = tuple(SAMPLE_DIR / name for name in DATA_FILES)
    keep_open = None if os.environ.get("CXDATA_KEEP_OPEN_S") else APP_KEEP_OPEN_S
    return Store.open(Settings.from_env(db_path=db_path, keep_open_s=keep_open), sandbox=sample)


def store() -> Store:
    """The store for this process (the database file named by the settings)."""
    return _store(str(Settings.from_env().db_path))


@st.cache_resource(show_spinner=False)
def _engine_for(db_path: str, engine: str, lake: str, master: str) -> Engine:
    """The engine the settings name, opened as the CLI opens it (`cxdata.engine.open_engine`):
    the process's store itself (DuckDB), or Spark over the lake (`engine`, `lake`,
    `spark_master`: CXDATA_ENGINE, CXDATA_LAKE, CXDATA_SPARK_MASTER). Writes (imports,
    persona fits, the audit) go to the store either way; Spark sees them after the next
    `cxdata lake sync`. A Spark engine that cannot start raises EngineError, which the
    router shows as a message."""
    settings = Settings.from_env(db_path=db_path, engine=engine, lake=lake, spark_master=master)
    return open_engine(settings, lambda: _store(db_path))


def _engine(db_path: str) -> Engine:
    """Where the pages' analysis runs (see `_engine_for`), one per process and settings."""
    settings = Settings.from_env(db_path=db_path)
    return _engine_for(db_path, settings.engine, settings.lake, settings.spark_master)


def engine() -> Engine:
    """The engine for this process: what every analysis of the pages reads."""
    return _engine(str(Settings.from_env().db_path))


_offered: set[tuple[Path, int]] = set()


def ensure_data(s: Store, actor: str) -> None:
    """On the very first start (a store that never had data) load the sample data set;
    the audit trail names whoever opened the app then. Once offered, the database file
    (path and inode) is remembered, so later reruns open no DuckDB connection for it."""
    if not s.settings.load_sample_on_empty:
        return
    db_file = (s.path, s.path.stat().st_ino)
    if db_file in _offered:
        return
    if s.get_meta("sample_offered"):
        _offered.add(db_file)
        return
    if s.stats()["batches"] == 0:
        bar = st.progress(0.0, "Loading the sample data set…")
        load_sample(s, progress=lambda f, m: bar.progress(f, m), actor=actor)
        bar.empty()
    s.set_meta("sample_offered", "yes")
    _offered.add(db_file)


_personas_checked: set[tuple[str, str]] = set()


def ensure_personas(s: Store) -> None:
    """Personas from the first start: data without a persona model gets one (default
    settings, actor `auto`), once, with its progress shown; checked once per data version
    in this process (a new model changes the version)."""
    from cxdata.app.first_personas import fit_first_personas, wants_personas

    key = (str(s.path), data_version())
    if not s.settings.auto_personas or key in _personas_checked:
        return
    if wants_personas(s):
        with st.status("Finding personas in the data (first start)…", expanded=True) as status:
            bar = st.progress(0.0, "Reading the customers…")
            model = fit_first_personas(s, progress=lambda f, m: bar.progress(min(f, 1.0), m))
            bar.empty()
            found = f"Found {model.k} personas (model {model.model_id})." if model else ""
            status.update(label=found or "Personas are ready.", state="complete", expanded=False)
        key = (str(s.path), refresh_version(s))
    _personas_checked.add(key)


@st.cache_data(show_spinner=False, max_entries=8)
def counts(db_path: str, version: str) -> pd.DataFrame:
    return observation_counts(_engine(db_path))


@dataclass
class Preview:
    """A dry run of an upload: what would be imported, or every problem."""

    result: IngestResult | None
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    total: int = 0
    message: str = ""
    mapping_file: str | None = None  # set when the problems are in the mapping file


@st.cache_data(show_spinner="Checking the file…", max_entries=4)
def preview(
    who: Principal,
    db_path: str,
    version: str,
    name: str,
    data: bytes,
    mapping: bytes | None,
    study: str | None,
    sheet: str | None,
    mapping_name: str = "mapping.toml",
    row_ids: bool = False,
) -> Preview:
    """Validate an upload without importing it (needs the right to upload); cached per
    principal, content and data version, the check runs in `actions`."""
    try:
        parsed = actions.upload_mapping(mapping, mapping_name, row_ids)
    except IngestError as exc:  # the mapping file itself is wrong: say so, by its lines
        return Preview(None, exc.table(), exc.total, str(exc), mapping_file=mapping_name)
    try:
        result = actions.check_upload(
            who, _store(db_path), name, data, mapping=parsed, study=study, sheet=sheet
        )
    except IngestError as exc:
        return Preview(None, exc.table(), exc.total, str(exc))
    return Preview(result)


@st.cache_data(show_spinner=False, max_entries=4)
def options(db_path: str, version: str) -> FilterOptions:
    return filter_options(_engine(db_path))


@st.cache_data(show_spinner="Computing scores…", max_entries=64)
def scores(db_path: str, version: str, by: tuple[str, ...], filters: Filters) -> pd.DataFrame:
    """Stage scores, cached per data version (which covers persona models and names),
    grouping and filters."""
    return stage_scores(_engine(db_path), list(by), filters)


@st.cache_data(show_spinner=False, max_entries=64)
def totals(db_path: str, version: str, filters: Filters) -> dict[str, int]:
    return scoring_totals(_engine(db_path), filters)


@st.cache_data(show_spinner=False, max_entries=8)
def segment_choices(db_path: str, version: str) -> list[str]:
    """Personas (when a model exists), customer attributes, then study and channel."""
    personas = ["persona"] if latest_model_id(_store(db_path)) is not None else []
    return [*personas, *attribute_names(_engine(db_path)), "study", "channel"]


@st.cache_data(show_spinner=False, max_entries=8)
def personas(db_path: str, version: str) -> tuple[PersonaModel | None, bool]:
    """The latest persona model (None without one) and whether it is older than the data."""
    from cxdata.personas.models import is_stale, latest_model

    s = _store(db_path)
    model = latest_model(s)
    return model, model is not None and is_stale(s, model)


def persona_settings(model: PersonaModel) -> PersonaSettings:
    """The settings a stored model was fitted with (to refit it on newer data)."""
    from cxdata.personas.estimator import PersonaSettings

    stored = dict(model.settings)
    stored["k_range"] = tuple(stored.get("k_range", (3, 8)))
    if stored.get("attributes") is not None:
        stored["attributes"] = tuple(stored["attributes"])
    return PersonaSettings(**stored)


def refresh_version(s: Store) -> str:
    """Read the data version once per run (the router does it); pages use `data_version`.
    On Spark it is the lake's and the store's together: pages read both (models, batches
    and the framework from the store, the analyses from the lake)."""
    engine = _engine(str(s.path))
    version = engine.data_version()
    if not isinstance(engine, DuckDBEngine):
        version = f"{DuckDBEngine(s).data_version()}+{version}"
    st.session_state["data_version"] = version
    return version


def data_version() -> str:
    """This run's data version (the cache key of every cached result)."""
    value = st.session_state.get("data_version")
    return value if isinstance(value, str) else refresh_version(store())


@st.cache_data(show_spinner=False, max_entries=32)
def touchpoint_order(
    db_path: str, version: str, filters: Filters, stages: tuple[str, ...]
) -> tuple[str, ...]:
    """Touchpoints in journey order (of the stage x touchpoint scores), once per data version
    and filters (sorting on every rerun cost ~10 ms)."""
    data = scores(db_path, version, ("touchpoint",), filters)
    return tuple(levels_in_journey_order(data, "touchpoint", list(stages)))


@st.cache_data(show_spinner=False, max_entries=8)
def persona_names(db_path: str, version: str) -> pd.DataFrame:
    """The latest model's persona numbers and names, once per data version (which covers
    them), not once per segment picker and rerun."""
    with _engine(db_path).ibis() as backend:
        return latest_names(backend).order_by("persona").to_pandas()


@st.cache_data(show_spinner="Comparing…", max_entries=32)
def comparison(
    db_path: str, version: str, a: Segment, b: Segment, level: str, filters: Filters
) -> pd.DataFrame:
    return compare(_engine(db_path), a, b, level, filters)


@st.cache_data(show_spinner=False, max_entries=4)
def priority_outcomes(db_path: str, version: str) -> dict[str, list[str]]:
    """Outcomes, then attributes, to prioritise by: name -> values to pick the good one from
    (empty when the column holds numbers or yes/no); cached per data version."""
    from cxdata.analysis.priorities import outcome_choices

    return outcome_choices(_engine(db_path))


@st.cache_data(show_spinner="Computing priorities…", max_entries=32)
def _priority_results(
    db_path: str, version: str, outcome: str, positive: str | None, level: str, filters: Filters
) -> tuple[pd.DataFrame, pd.DataFrame | None, str | None]:
    """The priorities and the moments of truth from one read of the customers' cells (the
    slow part), cached per data version, outcome, good value, level and filters; only the
    two small tables are kept. The moments are None, with the reason, for numeric outcomes."""
    from cxdata.analysis import moments as m
    from cxdata.analysis import priorities as p

    e, by = _engine(db_path), cast("p.Level", level)  # customer_cells refuses other levels
    cells, spec = p.customer_cells(e, outcome, positive, by, filters)
    order = e.stage_order(cells.stages())
    table = p.priorities_from_cells(cells, spec, by, order, e.settings.min_customers)
    reason = m.no_moments_reason(spec)
    moments = None if reason else m.moments_from_cells(cells, spec, by)
    return table, moments, reason


def priority_table(
    db_path: str, version: str, outcome: str, positive: str | None, level: str, filters: Filters
) -> pd.DataFrame:
    """`cxdata.analysis.priorities.priorities`, from the cached `_priority_results`."""
    return _priority_results(db_path, version, outcome, positive, level, filters)[0]


def moments_table(
    db_path: str, version: str, outcome: str, positive: str | None, level: str, filters: Filters
) -> pd.DataFrame:
    """`cxdata.analysis.moments.moments_of_truth`, from the same cached read as
    `priority_table` (FilterError, as there, when the outcome has no bad answer)."""
    _, moments, reason = _priority_results(db_path, version, outcome, positive, level, filters)
    if moments is None:
        raise FilterError(reason or "no moments of truth for this outcome")
    return moments


@st.cache_data(show_spinner="Computing outcome KPIs…", max_entries=32)
def outcomes(db_path: str, version: str, by: str | None, filters: Filters) -> pd.DataFrame:
    """Outcome KPIs (rate, NPS or mean with intervals) overall or per group, cached per data
    version, grouping and filters."""
    from cxdata.analysis.outcomes import outcome_kpis

    return outcome_kpis(_engine(db_path), by, filters)


@st.cache_data(show_spinner="Computing trends…", max_entries=32)
def trend(db_path: str, version: str, period: str, filters: Filters) -> pd.DataFrame:
    """Net experience per stage and period with intervals (cxdata.analysis.trends)."""
    from cxdata.analysis.trends import net_trend

    return net_trend(_engine(db_path), period, filters)


@st.cache_data(show_spinner="Testing the change…", max_entries=32)
def trend_change(
    db_path: str, version: str, period: str, earlier: str, later: str, filters: Filters
) -> pd.DataFrame:
    """Per stage: the change of net experience between two periods, tested as in the
    comparison (cxdata.analysis.trends.change)."""
    from cxdata.analysis.trends import change

    return change(_engine(db_path), period, earlier, later, filters)
