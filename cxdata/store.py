"""The only place that opens DuckDB: connections, schema and its migrations, batches.

DuckDB lets one process at a time hold a database file, so every connection here is
short-lived: open, do the work, close. When another process holds the file we wait
(bounded, with back-off) and then say plainly that the database is busy.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
from ibis.backends.duckdb import Backend as IbisBackend

from cxdata.config import Settings

SCHEMA_VERSION = 3

CANONICAL_TEXT = (
    "observation_id",
    "customer_id",
    "study",
    "stage",
    "touchpoint",
    "channel",
    "interaction",
    "method",
    "observer",
    "note",
)
"""Canonical text columns of an observation, in table order (score and observed_at follow)."""

OBSERVATION_COLUMNS = ("batch_id", "source_row", *CANONICAL_TEXT, "score", "observed_at")

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE batch_id_seq START 1",
        """CREATE TABLE batches (
            batch_id INTEGER PRIMARY KEY,
            source_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            study VARCHAR,
            rows BIGINT NOT NULL,
            customers BIGINT NOT NULL,
            mapping VARCHAR NOT NULL,
            warnings VARCHAR,
            imported_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE observations (
            batch_id INTEGER NOT NULL,
            source_row BIGINT NOT NULL,
            observation_id VARCHAR,
            customer_id VARCHAR NOT NULL,
            study VARCHAR,
            stage VARCHAR NOT NULL,
            touchpoint VARCHAR,
            channel VARCHAR,
            interaction VARCHAR,
            method VARCHAR,
            observer VARCHAR,
            note VARCHAR,
            score DOUBLE NOT NULL,
            observed_at TIMESTAMP)""",
        """CREATE TABLE customer_attributes (
            batch_id INTEGER NOT NULL,
            customer_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            dtype VARCHAR NOT NULL,
            value VARCHAR,
            number DOUBLE)""",
        "CREATE TABLE stages (name VARCHAR PRIMARY KEY, position INTEGER NOT NULL)",
    ],
    # The journey framework, versioned: every changed import adds a version, the latest
    # is active, old ones stay so earlier batches can be traced to their catalogue.
    2: [
        """CREATE TABLE framework_versions (
            version INTEGER PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            source_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL)""",
        """CREATE TABLE framework_stages (
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            PRIMARY KEY (version, name))""",
        """CREATE TABLE framework_touchpoints (
            version INTEGER NOT NULL,
            stage VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            PRIMARY KEY (version, stage, name))""",
        """CREATE TABLE framework_interactions (
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            code VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            stage VARCHAR NOT NULL,
            touchpoint VARCHAR,
            score DOUBLE NOT NULL,
            moment_of_truth BOOLEAN NOT NULL,
            PRIMARY KEY (version, code))""",
    ],
    3: [
        """CREATE TABLE persona_models (
            model_id INTEGER PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            settings VARCHAR NOT NULL,
            features VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            diagnostics VARCHAR NOT NULL,
            explanation VARCHAR NOT NULL,
            profiles VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL)""",
        """CREATE TABLE persona_assignments (
            model_id INTEGER NOT NULL,
            customer_id VARCHAR NOT NULL,
            persona INTEGER NOT NULL)""",
        """CREATE TABLE persona_names (
            model_id INTEGER NOT NULL,
            persona INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            generated VARCHAR NOT NULL,
            PRIMARY KEY (model_id, persona))""",
    ],
}


class StoreError(Exception):
    """Base class of errors a user should read as a sentence, not a traceback."""


class StoreBusyError(StoreError):
    """Another process kept the database locked for longer than the configured wait."""


_LOCK_PATTERNS = re.compile(r"could not set lock|conflicting lock|database is locked", re.I)


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.Error) and bool(_LOCK_PATTERNS.search(str(exc)))


@dataclass(frozen=True)
class Store:
    """A DuckDB database file holding observations, batches and their metadata."""

    path: Path
    settings: Settings

    @classmethod
    def open(cls, settings: Settings | None = None, path: Path | str | None = None) -> Store:
        """Create the folder and schema if needed and return the store."""
        settings = settings or Settings.from_env()
        store = cls(Path(path) if path is not None else settings.db_path, settings)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        store.migrate()
        return store

    @contextmanager
    def connect(self, *, bounded: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (bounded) while another process holds the file.

        `bounded` caps DuckDB's memory at `memory_limit_mb` (imports spill beyond it).
        Read-only analytics pass False and keep DuckDB's default (80% of RAM): under the
        cap, a 10M-observation aggregate spills to disk and takes ~1.4x as long. The limit
        is a setting of the DuckDB instance, which the connections to one file open at
        the same time in this process share: when a running read holds more than the cap,
        a bounded connection opened meanwhile keeps the current limit."""
        con = self._open_with_retry()
        try:
            if bounded:
                _cap_memory(con, self.settings.memory_limit_mb)
            yield con
        finally:
            con.close()

    @contextmanager
    def ibis(self, *, bounded: bool = True) -> Iterator[IbisBackend]:
        """An Ibis backend over a short-lived connection: analytics are Ibis expressions."""
        with self.connect(bounded=bounded) as con:
            yield ibis.duckdb.from_connection(con)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: everything inside lands together or not at all."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.settings.lock_timeout_s
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"The database {self.path} is busy: another process has been writing to "
                        f"it for over {self.settings.lock_timeout_s:g} s. Try again in a moment."
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one recorded step at a time."""
        with self.connect() as con:
            version = _schema_version(con)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                con.execute("BEGIN TRANSACTION")
                for ddl in _MIGRATIONS[target]:
                    con.execute(ddl)
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)]
                )
                con.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        with self.connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.connect() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def schema_version(self) -> int:
        with self.connect() as con:
            return _schema_version(con)

    # -- reading -----------------------------------------------------------------------

    def query_df(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query with bound parameters and return a DataFrame."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def batches(self) -> pd.DataFrame:
        """All batches, newest first."""
        return self.query_df(
            "SELECT batch_id, source_name, study, rows, customers, imported_at, sha256, "
            "mapping, warnings FROM batches ORDER BY batch_id DESC"
        )

    def stage_order(self) -> list[str]:
        """Known stages in journey order (see `journey_order`)."""
        with self.connect() as con:
            return journey_order(con)

    def stats(self) -> dict[str, Any]:
        """Headline counts: observations, customers, batches and stages in journey order."""
        with self.connect() as con:
            row = con.execute(
                "SELECT count(*), count(DISTINCT customer_id) FROM observations"
            ).fetchone()
            batches = con.execute("SELECT count(*) FROM batches").fetchone()
        assert row is not None and batches is not None
        observed = set(self.query_df("SELECT DISTINCT stage FROM observations")["stage"])
        return {
            "observations": int(row[0]),
            "customers": int(row[1]),
            "batches": int(batches[0]),
            "stages": [s for s in self.stage_order() if s in observed],
        }

    def data_version(self) -> str:
        """Changes whenever batches, the framework or the personas (a new model, a rename)
        change, in the app or the CLI: the app's cache key."""
        with self.connect() as con:
            row = con.execute(
                """SELECT count(*), coalesce(max(batch_id), 0), coalesce(sum(batch_id), 0),
                       (SELECT coalesce(max(version), 0) FROM framework_versions),
                       (SELECT coalesce(max(model_id), 0) FROM persona_models),
                       (SELECT coalesce(hash(string_agg(name, '|' ORDER BY model_id, persona)),
                               0) FROM persona_names)
                   FROM batches"""
            ).fetchone()
        assert row is not None
        return "-".join(str(v) for v in row)

    # -- writing -------------------------------------------------------------------------

    def remove_batch(self, batch_id: int) -> int:
        """Remove a batch and everything it brought; returns the observations removed."""
        with self.transaction() as con:
            found = con.execute("SELECT rows FROM batches WHERE batch_id = ?", [batch_id])
            if found.fetchone() is None:
                raise StoreError(f"There is no batch {batch_id}.")
            n = con.execute(
                "SELECT count(*) FROM observations WHERE batch_id = ?", [batch_id]
            ).fetchone()
            con.execute("DELETE FROM observations WHERE batch_id = ?", [batch_id])
            con.execute("DELETE FROM customer_attributes WHERE batch_id = ?", [batch_id])
            # assignments of customers who no longer have any observation go too
            con.execute(
                "DELETE FROM persona_assignments WHERE customer_id NOT IN "
                "(SELECT DISTINCT customer_id FROM observations)"
            )
            con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
        return int(n[0]) if n else 0


_CATALOGUED_STAGES = """
    WITH named AS (SELECT name, 0 AS k, position AS p FROM framework_stages
                   WHERE version = (SELECT max(version) FROM framework_versions)
                   UNION ALL SELECT name, 1, position FROM stages),
         ranked AS (SELECT name, row_number() OVER (ORDER BY k, p) AS o FROM named)
    SELECT name FROM ranked GROUP BY name ORDER BY min(o)"""


def journey_order(
    con: duckdb.DuckDBPyConnection, present: Iterable[str] | None = None
) -> list[str]:
    """Stages in journey order: the active framework's, then the configured order (mapping
    files), then the others by first appearance (batch, then source row).

    With `present` (the stages a result holds) the observations are scanned only for
    stages the framework and the configuration do not name, usually none."""
    known = [str(name) for (name,) in con.execute(_CATALOGUED_STAGES).fetchall()]
    condition, params = "", []
    if present is not None:
        missing = sorted(set(present) - set(known))
        if not missing:
            return known
        condition, params = "WHERE list_contains(?, stage)", [missing]
    seen = con.execute(
        f"SELECT stage FROM observations {condition} GROUP BY stage "  # noqa: S608 (fixed text)
        "ORDER BY min(batch_id), min(source_row)",
        params,
    ).fetchall()
    named = set(known)
    return known + [str(stage) for (stage,) in seen if stage not in named]


def _cap_memory(con: duckdb.DuckDBPyConnection, limit_mb: int) -> None:
    # Fails when a concurrent read holds more right now; the current limit stays then.
    with suppress(duckdb.OutOfMemoryException):
        con.execute(f"SET memory_limit = '{int(limit_mb)}MB'")


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0
