"""Analysis on Apache Spark: the same Ibis expressions over the Parquet lake that
`cxdata lake sync` writes (`cxdata.store.lake`). One SparkSession per process and master;
the canonical tables are temporary views of one child session per lake version, and the
memtables of filter values a block registers (uniquely named) are dropped when it ends.

Persona models fitted on Spark assign every customer in Spark and write the assignments into
the lake (`write_persona_assignments`, `lake.ENGINE_ASSIGNMENTS`); `persona_assignments`
reads a model's rows from there in preference to the synced copy of the store's table."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cxdata.engine.base import CANONICAL_TABLES, EngineError
from cxdata.store.lake import (
    MANIFEST,
    LakeError,
    LakeFiles,
    engine_paths,
    manifest_version,
    parquet_paths,
    publish_engine_assignments,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import ibis
    import ibis.expr.types as ir
    from ibis import BaseBackend

    from cxdata.config import Settings


def local_cores(master: str) -> int | None:
    """The worker threads of a local master (`local`, `local[4]`, `local[*]`); None for a
    cluster."""
    match = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master.strip())
    if match is None:
        return None
    threads = match.group(1)
    return (os.cpu_count() or 1) if threads == "*" else int(threads or 1)


_sessions: dict[str, Any] = {}
_sessions_lock = threading.RLock()
_lake_sessions: dict[tuple[str, str], tuple[str, Any]] = {}
"""(master, lake) -> (lake version, the child session with the canonical tables' views)."""
_orders: dict[tuple[str, str], tuple[str, list[str], list[str]]] = {}
"""(master, lake) -> (lake version, known stages, other stages): the journey order."""


def spark_session(master: str) -> Any:
    """This process's SparkSession for `master` (made once; Spark allows one context)."""
    with _sessions_lock:
        if master not in _sessions:
            _sessions[master] = _start(master)
        return _sessions[master]


def _start(master: str) -> Any:
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise EngineError(
            "The Spark engine needs Java 17 or later, and none was found (no java on PATH, "
            "no JAVA_HOME). Install it, e.g. apt-get install openjdk-17-jre-headless."
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError('The Spark engine needs pyspark: pip install -e ".[spark]".') from None
    if local_cores(master) is not None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # bind nothing but loopback
    builder = SparkSession.builder.master(master).appName("cxdata")
    builder = builder.config("spark.ui.enabled", "false")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if local_cores(master) is not None:
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1")
        # one shuffle partition per thread (Spark's 200 are meant for clusters)
        builder = builder.config("spark.sql.shuffle.partitions", str(local_cores(master) or 1))
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Spark's own errors (Java gateway, master unreachable)
        raise EngineError(f"Cannot start Spark with master {master}: {exc}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def _lake_version(manifest: str) -> str:
    return "lake-" + manifest_version(manifest)


@functools.lru_cache(maxsize=8)
def _lake_files(lake: str) -> LakeFiles:
    return LakeFiles.at(lake)


@dataclass(frozen=True)
class SparkEngine:
    """Analysis over the Parquet lake at `lake` (a folder, or any URL Spark reads) on the
    Spark cluster `master` (`local[*]`: this machine)."""

    settings: Settings
    lake: str
    master: str = "local[*]"
    name = "spark"

    @classmethod
    def from_settings(cls, settings: Settings) -> SparkEngine:
        """The engine the settings name (CXDATA_LAKE, CXDATA_SPARK_MASTER); checks the lake."""
        if not settings.lake:
            raise EngineError(
                "The Spark engine reads a lake: give --lake DIR (or CXDATA_LAKE), the folder "
                "`cxdata lake sync DIR` writes."
            )
        engine = cls(settings, settings.lake, settings.spark_master)
        engine.manifest_text()  # a clear error now rather than at the first query
        return engine

    def session(self) -> Any:
        return spark_session(self.master)

    @property
    def files(self) -> LakeFiles:
        """The lake's files as this process writes them (the manifest, engine assignments)."""
        return _lake_files(self.lake)

    def manifest_text(self) -> str:
        """The lake's manifest: what the last sync wrote."""
        try:
            text = self.files.read_text(MANIFEST)
        except (LakeError, OSError) as exc:
            raise EngineError(f"Cannot read the cxdata lake at {self.lake}: {exc}") from None
        if text is None:
            raise EngineError(
                f"There is no cxdata lake at {self.lake} (no {MANIFEST}); write it first "
                f"with: cxdata lake sync {self.lake}"
            )
        return text

    def _urls(self, relative: Iterable[str]) -> list[str]:
        return [self.files.spark_path(r) for r in relative]

    @contextmanager
    def ibis(self) -> Iterator[ibis.BaseBackend]:
        """Ibis over this lake version's session (its canonical tables' views made once);
        the memtables of filter values a block registers are dropped when it ends."""
        import ibis as ibis_module

        session = self._lake_session(self.manifest_text())
        backend = ibis_module.pyspark.connect(session)
        registered: list[str] = []
        register = backend._register_in_memory_table  # type: ignore[attr-defined]

        def recording(op: Any) -> None:
            registered.append(op.name)
            register(op)

        backend._register_in_memory_table = recording  # type: ignore[attr-defined]
        try:
            yield backend
        finally:
            for name in registered:
                session.catalog.dropTempView(name)

    def _lake_session(self, manifest: str) -> Any:
        """A child session (`newSession()`: the same SparkContext, its own temporary views)
        with a view per canonical table over this lake version's Parquet files, made once
        per version (listing the files and reading their schema is the slow part). Blocks
        that began on an older version keep their session until they end."""
        key, version = (self.master, self.lake), _lake_version(manifest)
        with _sessions_lock:
            known = _lake_sessions.get(key)
            if known is not None and known[0] == version:
                return known[1]
            session = self.session().newSession()
            named = json.loads(manifest)
            for table in CANONICAL_TABLES:
                frame = session.read.parquet(*self._urls(parquet_paths(named, table)))
                engine_written = engine_paths(named) if table == "persona_assignments" else []
                if engine_written:  # the engine's rows of a model replace the synced ones
                    frame = frame.unionByName(session.read.parquet(*self._urls(engine_written)))
                frame.createOrReplaceTempView(table)
            _lake_sessions[key] = (version, session)
            _orders.pop(key, None)
            return session

    def stage_order(self, present: Iterable[str] | None = None) -> list[str]:
        """The store's journey order (`cxdata.store.database.journey_order`), read from the
        lake once per lake version: the framework's and configured stages, then the others
        by first appearance; `present`: only those of the others are placed."""
        key, version = (self.master, self.lake), self.data_version()
        cached = _orders.get(key)
        if cached is None or cached[0] != version:
            with self.ibis() as backend:
                cached = (version, *journey_order(backend))
            _orders[key] = cached
        _, known, others = cached
        wanted = None if present is None else set(present)
        return known + [s for s in others if wanted is None or s in wanted]

    def write_persona_assignments(
        self, model_id: int, assignments: Callable[[BaseBackend], ir.Table]
    ) -> int:
        """Compute a model's assignments (`assignments(backend)`: customer_id, persona) in
        Spark and write them into the lake as Parquet (Spark's own writer: nothing is
        collected to the driver), under a hidden name renamed into place; returns the rows.
        Spark writes them wherever the lake is."""
        import ibis as ibis_module

        def write(folder: str) -> int:
            with self.ibis() as backend:
                table = assignments(backend)
                rows = table.select(
                    model_id=ibis_module.literal(int(model_id), type="int32"),
                    customer_id=table.customer_id.cast("string"),
                    persona=table.persona.cast("int32"),
                )
                backend.to_parquet(rows, folder)  # type: ignore[attr-defined]
            return int(self.session().read.parquet(folder).count())

        return publish_engine_assignments(self.files, model_id, write)

    def data_version(self) -> str:
        """Changes exactly when a sync changed the lake."""
        return _lake_version(self.manifest_text())

    def describe(self) -> str:
        return f"Spark ({self.master}) over the lake {self.lake}"


def journey_order(backend: ibis.BaseBackend) -> tuple[list[str], list[str]]:
    """Stages in journey order as the store orders them: the active framework's and the
    configured ones (`known`), then the `others` by first appearance (batch, source row)."""
    import ibis as ibis_module

    versions, framework = backend.table("framework_versions"), backend.table("framework_stages")
    active = framework.filter(framework.version == versions.version.max().as_scalar())
    configured = backend.table("stages")
    named = active.select(active.name, k=ibis_module.literal(0), p=active.position).union(
        configured.select(configured.name, k=ibis_module.literal(1), p=configured.position)
    )
    rows = named.to_pandas().sort_values(["k", "p"], kind="stable")
    known = list(dict.fromkeys(str(n) for n in rows["name"]))
    obs = backend.table("observations")
    firsts = obs.group_by("stage").aggregate(b=obs.batch_id.min(), r=obs.source_row.min())
    seen = firsts.to_pandas().sort_values(["b", "r"], kind="stable")
    named_set = set(known)
    return known, [str(s) for s in seen["stage"] if s not in named_set]
