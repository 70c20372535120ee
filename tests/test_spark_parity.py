"""Parity: every analysis gives the same answer on DuckDB (the store) and on Spark (the lake
`cxdata lake sync` wrote of that store). Keys and counts equal, floats within 1e-9 relative.

Two data sets: the sample data (with a persona model) and a generated store whose attribute
names and values are hostile (quotes, backticks, dots, SQL, newlines, non-ASCII). One Spark
session (`local[2]`) for the whole run. Without Java or pyspark the suite is skipped with the
reason; in CI (`CI=true`) it fails instead, so it cannot silently not run."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxdata.analysis.agreement import agreement, observer_values
from cxdata.analysis.compare import Segment, compare
from cxdata.analysis.filters import Filters
from cxdata.analysis.moments import moments_of_truth
from cxdata.analysis.order import NONE
from cxdata.analysis.outcomes import outcome_kpis
from cxdata.analysis.overview import filter_options, observation_counts
from cxdata.analysis.priorities import priorities
from cxdata.analysis.sampling import seeded_sample
from cxdata.analysis.scoring import (
    DERIVED_DIMENSIONS,
    OBSERVATION_DIMENSIONS,
    attribute_names,
    cell_observations,
    stage_scores,
    totals,
)
from cxdata.analysis.segments import latest_assignments
from cxdata.analysis.trends import change, net_trend, periods
from cxdata.config import Settings
from cxdata.engine import CANONICAL_TABLES, DuckDBEngine, Engine, EngineError
from cxdata.ingest import ingest_file
from cxdata.personas.assign import AssignmentRule, assignment_table
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings
from cxdata.personas.features import customer_features, feature_plan
from cxdata.personas.models import latest_model_id, stored_rule
from cxdata.sample.load import load_sample
from cxdata.store import Store
from cxdata.store.lake import ENGINE_ASSIGNMENTS, sync_lake
from cxdata.store.privacy import erase_customer
from tests.app_data import chart_data
from tests.conftest import ROOT, start_app

pytestmark = pytest.mark.spark

HOSTILE_NAMES = ['tier"; DROP TABLE observations; --', "a.b", "`tick`", "naïve Größe",
                 "with space", "select", "it's"]  # fmt: skip
HOSTILE_VALUES = ["O'Brien", '"quoted"', "a,b", "' OR 1=1 --", "🙂 ünï", "NULL", "x`y", "a.b"]


def _missing_spark() -> str | None:
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java (install openjdk-17-jre-headless)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'no pyspark (pip install -e ".[test,spark]")'
    return None


@pytest.fixture(scope="session")
def spark_master() -> str:
    reason = _missing_spark()
    if reason:
        if os.environ.get("CI"):  # set by CI services and by .ci/run
            pytest.fail(f"the Spark parity suite must run in CI: {reason}")
        pytest.skip(f"Spark parity suite: {reason}")
    return "local[2]"


def _engines(store: Store, lake: Path, master: str) -> tuple[Engine, Engine]:
    from cxdata.engine.spark_engine import SparkEngine

    sync_lake(store, lake)
    spark = SparkEngine.from_settings(store.settings.replace(lake=str(lake), spark_master=master))
    return DuckDBEngine(store), spark


@pytest.fixture(scope="module")
def sample(tmp_path_factory, spark_master) -> tuple[Engine, Engine]:
    folder = tmp_path_factory.mktemp("parity_sample")
    store = Store.open(Settings(), folder / "cx.duckdb")
    load_sample(store)
    discover(store, PersonaSettings(k=3, bootstraps=2))
    return _engines(store, folder / "lake", spark_master)


def hostile_csv(customers: int = 240, seed: int = 7) -> str:
    """Observations of 4 stages with a hostile attribute set per customer; about half of
    them coded again by a second observer (double coding: agreement, counted once)."""
    rng = np.random.default_rng(seed)
    header = ["customer_id", "stage", "score", "channel", "touchpoint", "observed_at", "observer"]
    lines = [",".join(header + [_csv(n) for n in HOSTILE_NAMES])]
    start = dt.datetime(2026, 1, 1)
    observers = ["O'Neil", 'Ann "A"', "x.y"]
    for c in range(customers):
        attrs = [_csv(str(rng.choice(HOSTILE_VALUES))) for _ in HOSTILE_NAMES]
        for _ in range(int(rng.integers(1, 6))):
            stage = str(rng.choice(["Entry's", "Pay.ment", "De`livery", "Süpport"]))
            touchpoint = stage + " " + str(rng.choice(["desk 'A'", "page.1", "bot"]))
            when = start + dt.timedelta(hours=int(rng.integers(0, 24 * 120)))
            score = int(rng.integers(-3, 4))
            channel = _csv(str(rng.choice(["web", "app"])))
            coders = rng.choice(3, size=int(rng.integers(1, 3)), replace=False)
            for o in coders:
                value = int(np.clip(score + (o == coders[0]) * rng.integers(-1, 2), -3, 3))
                row = [f"C{c:04d}", _csv(stage), str(value), channel, _csv(touchpoint),
                       when.isoformat(sep=" "), _csv(observers[int(o)])]  # fmt: skip
                lines.append(",".join(row + attrs))
    return "\n".join(lines) + "\n"


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, spark_master) -> tuple[Engine, Engine]:
    folder = tmp_path_factory.mktemp("parity_hostile")
    store = Store.open(Settings(min_customers=5), folder / "cx.duckdb")
    source = folder / "hostile.csv"
    source.write_text(hostile_csv())
    ingest_file(store, source)
    return _engines(store, folder / "lake", spark_master)


def same(a: pd.DataFrame, b: pd.DataFrame, sort: list[str] | None = None) -> None:
    """Equal keys, counts and texts; floats within 1e-9 relative (1e-12 absolute near 0)."""
    assert list(a.columns) == list(b.columns)
    if sort:
        a, b = a.sort_values(sort), b.sort_values(sort)
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert len(a) == len(b)
    for column in a.columns:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            x, y = x.astype(float).to_numpy(), y.astype(float).to_numpy()
            assert np.array_equal(np.isnan(x), np.isnan(y)), column
            ok = ~np.isnan(x)
            np.testing.assert_allclose(y[ok], x[ok], rtol=1e-9, atol=1e-12, err_msg=column)
        else:
            assert x.astype(object).tolist() == y.astype(object).tolist(), column


def test_attribute_names_are_the_hostile_ones(hostile):
    duck, spark = hostile
    assert attribute_names(spark) == attribute_names(duck) == sorted(HOSTILE_NAMES)


@pytest.mark.parametrize("data", ["sample", "hostile"])
def test_every_dimension(data, request):
    duck, spark = request.getfixturevalue(data)
    dimensions = [*OBSERVATION_DIMENSIONS, *DERIVED_DIMENSIONS, *attribute_names(duck)]
    for by in [[], *([d] for d in dimensions)]:
        expected = stage_scores(duck, by)
        assert len(expected) > 0, by
        same(expected, stage_scores(spark, by))
    same(
        stage_scores(duck, ["touchpoint", "channel"]),
        stage_scores(spark, ["touchpoint", "channel"]),
    )


@pytest.mark.parametrize("data", ["sample", "hostile"])
def test_filter_kinds(data, request):
    duck, spark = request.getfixturevalue(data)
    options = filter_options(duck)
    spark_options = filter_options(spark)
    assert spark_options == options
    name = sorted(options.attributes)[0]
    assert options.dates is not None
    lo, hi = options.dates
    middle = lo + (hi - lo) / 2
    attribute = Filters.build(attributes={name: options.attributes[name][:2]})
    column = Filters.build({"channel": options.columns["channel"][:2]})
    dates = Filters.build(date_from=middle, date_to=hi)
    both = Filters.build({"channel": options.columns["channel"][:1]},
                         {name: options.attributes[name][:1]}, lo, middle)  # fmt: skip
    for filters in (attribute, column, dates, both):
        assert totals(spark, filters) == totals(duck, filters), filters.describe()
        same(stage_scores(duck, ["channel"], filters), stage_scores(spark, ["channel"], filters))
    stage = duck.stage_order()[0]
    columns = ["customer_id", "touchpoint", "score", "observed_at", "observer"]
    same(
        cell_observations(duck, column, stage, "channel", options.columns["channel"][0], 10_000),
        cell_observations(spark, column, stage, "channel", options.columns["channel"][0], 10_000),
        sort=columns,
    )
    same(observation_counts(duck), observation_counts(spark))


@pytest.mark.parametrize("data", ["sample", "hostile"])
def test_compare(data, request):
    duck, spark = request.getfixturevalue(data)
    name = sorted(attribute_names(duck))[0]
    value = filter_options(duck).attributes[name][0]
    a = Segment(((name, value),))
    for level in ("stage", "touchpoint"):
        expected = compare(duck, a, Segment(rest=True), level)
        assert expected["tested"].any()
        same(expected, compare(spark, a, Segment(rest=True), level))
    if data == "sample":
        persona = Segment((("persona", "1"),))
        same(
            compare(duck, persona, Segment(rest=True)), compare(spark, persona, Segment(rest=True))
        )


def test_priorities_and_moments_of_truth(sample):
    duck, spark = sample
    # each kind of outcome (NPS, a rate, an attribute's value) once, both levels covered
    # (the parity suite's 3-minute budget)
    for outcome, positive, level in (("nps", None, "stage"), ("repurchase", None, "touchpoint"),
                                     ("loyalty_tier", "Gold", "stage")):  # fmt: skip
        expected = priorities(duck, outcome, positive, level)  # type: ignore[arg-type]
        got = priorities(spark, outcome, positive, level)  # type: ignore[arg-type]
        same(expected, got)
        assert got.attrs == expected.attrs
    same(moments_of_truth(duck, "repurchase"), moments_of_truth(spark, "repurchase"))


def test_priorities_on_hostile_names(hostile):
    duck, spark = hostile
    name = HOSTILE_NAMES[0]
    positive = filter_options(duck).attributes[name][0]
    same(priorities(duck, name, positive), priorities(spark, name, positive))
    same(moments_of_truth(duck, name, positive), moments_of_truth(spark, name, positive))


@pytest.mark.parametrize("data", ["sample", "hostile"])
def test_persona_features(data, request):
    duck, spark = request.getfixturevalue(data)
    expected, got = customer_features(duck), customer_features(spark)
    assert got.groups == expected.groups and got.source == expected.source
    assert len(expected.frame) > 100
    same(expected.frame.reset_index(), got.frame.reset_index())


def test_outcomes(sample):
    duck, spark = sample
    for by in (None, "persona", "region", "observed_month"):
        same(outcome_kpis(duck, by), outcome_kpis(spark, by))


def test_trends(sample, hostile):
    """Net per stage and period, and the change between two periods (compare's procedure
    on customers counted in the engine)."""
    for (duck, spark), period, level in ((sample, "observed_quarter", "stage"),
                                         (hostile, "observed_month", "touchpoint")):  # fmt: skip
        expected = net_trend(duck, period, level=level)
        same(expected, net_trend(spark, period, level=level))
        found = [p for p in periods(expected, period) if p != NONE]
        earlier, later = found[0], found[-1]
        result = change(duck, period, earlier, later, level=level)
        assert result["tested"].any()
        got = change(spark, period, earlier, later, level=level)
        same(result, got)
        assert got.attrs == result.attrs


@pytest.mark.parametrize("by", ["stage", "touchpoint"])
def test_agreement_on_double_coding(hostile, by):
    duck, spark = hostile
    keys = ["unit", "observer"]
    same(observer_values(duck), observer_values(spark), sort=keys)
    expected, got = agreement(duck, by, resamples=200), agreement(spark, by, resamples=200)
    assert expected.overall["units"] > 100
    text = {k: v for k, v in expected.overall.items() if isinstance(v, str)}
    numbers = {k: v for k, v in expected.overall.items() if k not in text}
    assert got.overall.keys() == expected.overall.keys()
    assert {k: got.overall[k] for k in text} == text
    assert {k: got.overall[k] for k in numbers} == pytest.approx(numbers, rel=1e-9)
    same(expected.by, got.by, sort=[by])
    same(expected.observers, got.observers)


def test_seeded_samples_are_the_same_customers(sample):
    """The bounded samples (persona fit, relative weights) draw the same customers on both
    engines: the key is MD5, one function on both."""

    def drawn(engine: Engine) -> list[str]:
        with engine.ibis() as backend:
            customers = backend.table("observations").select("customer_id").distinct()
            return sorted(seeded_sample(customers, 100, seed=3).customer_id.to_pandas())

    duck, spark = sample
    expected = drawn(duck)
    assert len(expected) == 100 and drawn(spark) == expected


def test_persona_assignments(sample):
    duck, spark = sample
    frames = []
    for engine in (duck, spark):
        with engine.ibis() as backend:
            frames.append(latest_assignments(backend).to_pandas())
    assert len(frames[0]) == 2400
    same(frames[0], frames[1], sort=["customer_id"])


def _assigned(engine: Engine, rule: AssignmentRule) -> pd.DataFrame:
    plan = feature_plan(engine)
    with engine.ibis() as backend:
        return assignment_table(plan.table(backend), rule).to_pandas()


def _predicted(engine: Engine, settings: PersonaSettings) -> pd.Series:
    """What scikit-learn's predict of the refitted finder says (same data and settings
    give the same model)."""
    features = customer_features(engine, gaps=settings.gaps)
    X = features.frame[features.model_columns]
    finder = settings.finder().fit(X)
    clusters = finder.pipeline_.named_steps["cluster"].predict(
        finder.pipeline_.named_steps["features"].transform(X).to_numpy()
    )
    personas = [finder.persona_of_cluster_[int(c)] for c in clusters]
    return pd.Series(personas, index=X.index, name="persona").astype("int32")


def test_persona_assignment_in_the_engine(sample):
    """The stored model's rule assigns every customer on Spark as on DuckDB, and as
    scikit-learn predicts."""
    duck, spark = sample
    store = duck.store  # type: ignore[attr-defined]
    rule = AssignmentRule.from_json(stored_rule(store, latest_model_id(store) or 0) or {})
    expected, got = _assigned(duck, rule), _assigned(spark, rule)
    assert len(expected) == 2400
    same(expected, got, sort=["customer_id"])
    predicted = _predicted(duck, PersonaSettings(k=3, bootstraps=2))
    assert expected.set_index("customer_id")["persona"].loc[predicted.index].equals(predicted)


def test_personas_fitted_on_spark_are_written_into_the_lake(tmp_path, spark_master):
    """Fitted on Spark on a seeded sample (80 of 120 customers): the store keeps the model,
    the lake the assignments of all 120 that Spark computed (as DuckDB computes them by the
    stored rule); a sync keeps them and erases a customer."""
    store = Store.open(Settings(min_customers=5), tmp_path / "cx.duckdb")
    source = tmp_path / "hostile.csv"
    source.write_text(hostile_csv(customers=120, seed=3))
    ingest_file(store, source)
    duck, spark = _engines(store, tmp_path / "lake", spark_master)
    model = discover(store, PersonaSettings(k=3, bootstraps=2, fit_customers=80), engine=spark)
    assert int(store.query_df("SELECT count(*) AS n FROM persona_assignments")["n"][0]) == 0
    assert "seeded sample of 80 of the 120 customers" in model.explanation
    sync_lake(store, tmp_path / "lake")  # the model's row and names reach the lake
    with spark.ibis() as backend:
        written = latest_assignments(backend).to_pandas()
    rule = AssignmentRule.from_json(stored_rule(store, model.model_id) or {})
    expected = _assigned(duck, rule)
    same(expected, written[["customer_id", "persona"]], sort=["customer_id"])
    sizes = written["persona"].value_counts()
    assert [p["size"] for p in model.profiles] == [int(sizes.get(p, 0)) for p in (1, 2, 3)]
    assert sum(p["size"] for p in model.profiles) == 120
    # a synced copy of the same model's assignments (here a stray one) is not read
    with store.transaction() as con:
        con.execute("INSERT INTO persona_assignments VALUES (?, 'C0000', 3), (?, 'nobody', 1)",
                    [model.model_id, model.model_id])  # fmt: skip
    sync_lake(store, tmp_path / "lake")
    with spark.ibis() as backend:
        preferred = latest_assignments(backend).to_pandas()
    same(written, preferred, sort=["customer_id"])
    erased = str(written["customer_id"].iloc[0])
    erase_customer(store, erased)
    sync_lake(store, tmp_path / "lake")
    with spark.ibis() as backend:
        after = latest_assignments(backend).to_pandas()
    assert len(after) == 119 and erased not in set(after["customer_id"])
    for parquet in (tmp_path / "lake" / ENGINE_ASSIGNMENTS).rglob("*.parquet"):
        assert erased.encode() not in parquet.read_bytes()


def _heatmap_page(monkeypatch, engine: str) -> tuple[dict[str, str], pd.DataFrame]:
    from cxdata.app import data

    monkeypatch.setenv("CXDATA_ENGINE", engine)
    at = start_app("app_pages/heatmaps.py")
    assert data.engine().name == engine  # type: ignore[attr-defined]
    metrics = {m.label: f"{m.value} {m.proto.delta}" for m in at.metric}
    return metrics, chart_data(at, 0)


def test_the_app_reads_through_spark(sample, monkeypatch):
    """With CXDATA_ENGINE=spark and a lake the heatmap page's numbers are DuckDB's."""
    duck, spark = sample
    monkeypatch.setenv("CXDATA_DB", str(duck.store.path))  # type: ignore[attr-defined]
    monkeypatch.setenv("CXDATA_LAKE", spark.lake)  # type: ignore[attr-defined]
    monkeypatch.setenv("CXDATA_SPARK_MASTER", spark.master)  # type: ignore[attr-defined]
    monkeypatch.chdir(ROOT)
    on_spark, cells_spark = _heatmap_page(monkeypatch, "spark")
    on_duckdb, cells_duckdb = _heatmap_page(monkeypatch, "duckdb")
    assert on_spark == on_duckdb
    assert on_spark["Customers"].startswith("2,400") and len(on_spark) >= 4
    assert len(cells_spark) == 6 * 3  # six stages x the sample model's three personas
    keys = ["stage", "row"]
    same(cells_duckdb.sort_values(keys), cells_spark.sort_values(keys))


def test_spark_blocks_leave_no_view_behind(sample):
    duck, spark = sample
    filters = Filters.build({"channel": ["web"]})
    with spark.ibis() as backend:
        assert int(filters.apply(backend).count().to_pandas()) > 0
        session = backend._session  # type: ignore[attr-defined]
        assert any("memtable" in t.name for t in session.catalog.listTables())
    assert sorted(t.name for t in session.catalog.listTables()) == sorted(CANONICAL_TABLES)
    assert spark.data_version() == spark.data_version()


def test_engine_errors_are_clear(tmp_path, spark_master):
    from cxdata.engine.spark_engine import SparkEngine

    with pytest.raises(EngineError, match="give --lake"):
        SparkEngine.from_settings(Settings(engine="spark"))
    with pytest.raises(EngineError, match="cxdata lake sync"):
        SparkEngine.from_settings(Settings(lake=str(tmp_path / "none")))
