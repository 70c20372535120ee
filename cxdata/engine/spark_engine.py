"""Analysis on Apache Spark: the same Ibis expressions over the Parquet lake that
`cxdata lake sync` writes (`cxdata.store.lake`). One SparkSession per process and master;
each `ibis()` block runs in a fresh child session (`newSession()`: same SparkContext, its own
temporary views), so what a block registers -- the canonical tables' views and the memtables
of filter values -- is dropped when it ends and never seen by another block.

Persona models fitted on Spark assign every customer in Spark and write the assignments into
the lake (`write_persona_assignments`, `lake.ENGINE_ASSIGNMENTS`); `persona_assignments`
reads a model's rows from there in preference to the synced copy of the store's table."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from cxdata.engine.base import CANONICAL_TABLES, EngineError
from cxdata.store.lake import (
    ENGINE_ASSIGNMENTS,
    MANIFEST,
    manifest_version,
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
_lake_views: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
"""(master, lake) -> (lake version, table -> global temporary view)."""
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


def _is_local(lake: str) -> bool:
    scheme = urlparse(lake).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter


def _local_path(lake: str) -> Path:
    return Path(urlparse(lake).path if lake.startswith("file:") else lake)


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

    def manifest_text(self) -> str:
        """The lake's manifest: what the last sync wrote."""
        if _is_local(self.lake):
            path = _local_path(self.lake) / MANIFEST
            if not path.exists():
                raise EngineError(
                    f"There is no cxdata lake at {self.lake} (no {MANIFEST}); write it first "
                    f"with: cxdata lake sync {self.lake}"
                )
            return path.read_text()
        try:
            rows = self.session().read.text(self._path(MANIFEST), wholetext=True).collect()
        except Exception as exc:  # Spark's AnalysisException: no such path
            raise EngineError(f"Cannot read the cxdata lake at {self.lake}: {exc}") from None
        return str(rows[0][0]) if rows else ""

    def _path(self, name: str) -> str:
        return self.lake.rstrip("/") + "/" + name

    @contextmanager
    def ibis(self) -> Iterator[ibis.BaseBackend]:
        """Ibis over a child session with a view per canonical table; every temporary
        view of the block (filter values too) is dropped when it ends."""
        import ibis as ibis_module

        tables = self._lake_tables(self.data_version())
        session = self.session().newSession()
        try:
            for table, global_name in tables.items():
                session.table(global_name).createOrReplaceTempView(table)
            yield ibis_module.pyspark.connect(session)
        finally:
            for view in session.catalog.listTables():
                if view.isTemporary and not view.namespace:  # not the global views
                    session.catalog.dropTempView(view.name)

    def _lake_tables(self, version: str) -> dict[str, str]:
        """Table -> global temporary view over this lake version's Parquet files, made once
        per version (listing the files and reading their schema is the slow part); the
        views of older versions are dropped (a block resolved its views when it began)."""
        key = (self.master, self.lake)
        with _sessions_lock:
            known = _lake_views.get(key)
            if known is not None and known[0] == version:
                return known[1]
            root = self.session()
            prefix = f"cx_{abs(hash((self.lake, version))):x}_"
            views = {}
            engine_written = bool(json.loads(self.manifest_text()).get(ENGINE_ASSIGNMENTS))
            for table in CANONICAL_TABLES:
                reader = root.read.option("recursiveFileLookup", "true")
                frame = reader.parquet(self._path(table))
                if table == "persona_assignments" and engine_written:
                    frame = _preferring_engine_assignments(
                        root, frame, self._path(ENGINE_ASSIGNMENTS)
                    )
                frame.createOrReplaceGlobalTempView(prefix + table)
                views[table] = f"global_temp.{prefix}{table}"
            if known is not None:
                for old in known[1].values():
                    root.catalog.dropGlobalTempView(old.split(".", 1)[1])
            _lake_views[key] = (version, views)
            _orders.pop(key, None)
            return views

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
        The lake must be a local folder, as `cxdata lake sync` writes it."""
        import ibis as ibis_module

        if not _is_local(self.lake):
            raise EngineError(
                f"Persona assignments are written into the lake, and {self.lake} is not a "
                "local folder: fit on a lake folder this machine writes (cxdata lake sync)."
            )

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

        return publish_engine_assignments(_local_path(self.lake), model_id, write)

    def data_version(self) -> str:
        """Changes exactly when a sync changed the lake."""
        return "lake-" + manifest_version(self.manifest_text())

    def describe(self) -> str:
        return f"Spark ({self.master}) over the lake {self.lake}"


def _preferring_engine_assignments(session: Any, synced: Any, path: str) -> Any:
    """The synced assignments of the models an engine did not assign, and the
    engine-written ones (`lake.ENGINE_ASSIGNMENTS`)."""
    written = session.read.option("recursiveFileLookup", "true").parquet(path)
    models = written.select("model_id").distinct()
    return synced.join(models, "model_id", "left_anti").unionByName(written)


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
