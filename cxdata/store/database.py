"""The only place that opens DuckDB: connections, metadata, batches.

DuckDB lets one process at a time hold a database file, so every connection here is
short-lived: open, do the work, close. Processes take turns at the file and threads of a
process share it (`cxdata.turns`); when another process keeps it too long we say plainly
that the database is busy.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from cxdata.config import Settings
from cxdata.errors import CxError
from cxdata.store import schema
from cxdata.store.audit import DEFAULT_ACTOR, audit_log, record
from cxdata.store.sandbox import open_sandboxed
from cxdata.store.scratch import remove_leftovers
from cxdata.store.turns import FileTurns, TurnTimeout, turns_for

if TYPE_CHECKING:
    import pandas as pd
    from ibis.backends.duckdb import Backend as IbisBackend

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


class StoreError(CxError):
    """The store cannot do what was asked (no such batch, model, key...)."""


class StoreBusyError(StoreError):
    """Another process kept the database locked for longer than the configured wait."""


_LOCK_ERROR = re.compile(r"could not set lock|conflicting lock|database is locked", re.I)


@dataclass(frozen=True)
class Store:
    """A DuckDB database file holding observations, batches and their metadata."""

    path: Path
    settings: Settings
    sandbox: tuple[Path, ...] | None = None
    """None: DuckDB may read any file (the CLI reads the user's files). A tuple: every
    connection runs with external access off and its configuration locked; DuckDB may
    then read only `scratch_dir` and these files (the app: uploads and the sample)."""

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        path: Path | str | None = None,
        *,
        sandbox: tuple[Path, ...] | None = None,
    ) -> Store:
        """Create the folder and schema if needed and return the store.

        Every start removes the scratch copies that killed processes left behind; copies
        that live processes are using stay (see `cxdata.store.scratch`)."""
        settings = settings or Settings.from_env()
        store = cls(Path(path) if path is not None else settings.db_path, settings, sandbox)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        if sandbox is not None:
            store.scratch_dir.mkdir(exist_ok=True)
        remove_leftovers(store.scratch_dir)
        store.migrate()
        return store

    @property
    def scratch_dir(self) -> Path:
        """Beside the database: uploads and decoded copies that DuckDB reads (in the
        sandbox the only folder it may read), each in a `cxdata.store.scratch` copy."""
        return scratch_dir_for(self.path)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (bounded) while another process holds the file.

        Threads of this process share the file; other processes get their turn in between
        (see `cxdata.turns`), so readers never starve a `cxdata ingest` next to the app."""
        deadline = time.monotonic() + self.settings.lock_timeout_s
        try:
            kind = (self.sandbox, self.settings.memory_limit_mb)
            with self.turns().connection(deadline, self._open_with_retry, kind) as con:
                yield con
        except TurnTimeout:
            raise self._busy() from None

    def turns(self) -> FileTurns:
        """This process's turns at the database file (shared by every Store of the path)."""
        return turns_for(self.path, self.settings.keep_open_s)

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Serialise writers of this process (take it inside `connect`): concurrent DuckDB
        transactions on one file can conflict, and a duplicate check must see every
        earlier write. Other processes are kept out by the turns already."""
        try:
            with self.turns().writing(time.monotonic() + self.settings.lock_timeout_s):
                yield
        except TurnTimeout:
            raise self._busy() from None

    def _busy(self) -> StoreBusyError:
        return StoreBusyError(
            f"The database {self.path} is busy: another process has been using "
            f"it for over {self.settings.lock_timeout_s:g} s. Try again in a moment."
        )

    @contextmanager
    def ibis(self) -> Iterator[IbisBackend]:
        """An Ibis backend over a short-lived connection: analytics are Ibis expressions."""
        with self.connect() as con:
            yield self.ibis_on(con)

    def ibis_on(self, con: duckdb.DuckDBPyConnection) -> IbisBackend:
        """Ibis over a connection already open (in the sandbox Ibis may not run its SETs)."""
        from cxdata.store.ibis_backend import ibis_backend  # ibis loads on first use

        return ibis_backend(con, sandboxed=self.sandbox is not None)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: everything inside lands together or not at all."""
        with self.connect() as con, self.write_lock():
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def compact(self) -> tuple[int, int]:
        """Rewrite the database into a fresh file and swap it in; returns the size (file
        plus WAL) before and after. DELETE leaves the old pages in the file; the copy
        holds only live rows, so erased values are gone from the disk's copy of the store.

        It all happens during this process's turn at the file (see `cxdata.turns`), so no
        other process writes to the old file meanwhile. For the CLI: the copy is made
        through the open connection, and the swapped-out file must not be written again.
        """
        wal = self.path.with_name(self.path.name + ".wal")
        fresh = self.path.with_name(self.path.name + ".compacting")
        for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
            leftover.unlink(missing_ok=True)
        with self.connect() as con, self.write_lock():
            con.execute("CHECKPOINT")
            before = sum(p.stat().st_size for p in (self.path, wal) if p.exists())
            row = con.execute("SELECT current_database()").fetchone()
            assert row is not None
            name = '"' + str(row[0]).replace('"', '""') + '"'  # DuckDB took it from the file
            try:
                con.execute("ATTACH ? AS cx_fresh", [str(fresh)])
                con.execute(f"COPY FROM DATABASE {name} TO cx_fresh")
                con.execute("DETACH cx_fresh")
                fresh.replace(self.path)
                wal.unlink(missing_ok=True)
                self.turns().reopen_next_time()  # the open instance still reads the old file
            finally:
                fresh.unlink(missing_ok=True)
        return before, self.path.stat().st_size

    def _open_with_retry(self, deadline: float) -> duckdb.DuckDBPyConnection:
        """DuckDB's own lock still guards against processes that do not take turns (an
        older cxdata, the duckdb shell): wait for them with back-off until the deadline."""
        delay = 0.02
        while True:
            try:
                return self._open_once()
            except duckdb.Error as exc:
                if not _LOCK_ERROR.search(str(exc)):
                    raise
                if time.monotonic() >= deadline:
                    raise self._busy() from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    def _open_once(self) -> duckdb.DuckDBPyConnection:
        limit = f"{self.settings.memory_limit_mb}MB"
        # one config for every connection of the process (DuckDB requires it); no
        # replacement scans of Python variables (ibis turns them off too)
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": limit,
            "python_enable_replacements": False,
        }

        def connect() -> duckdb.DuckDBPyConnection:
            return duckdb.connect(str(self.path), config=config)

        if self.sandbox is None:
            return connect()
        con = open_sandboxed(connect, [self.scratch_dir], self.sandbox)
        if con is None:
            raise StoreError("The database is locked with external access on; cannot sandbox.")
        return con

    def migrate(self) -> None:
        """Bring the schema to `schema.SCHEMA_VERSION`, one recorded step at a time."""
        with self.connect() as con, self.write_lock():
            schema.migrate(con)

    def get_meta(self, key: str) -> str | None:
        with self.connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.connect() as con, self.write_lock():
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def schema_version(self) -> int:
        with self.connect() as con:
            return schema.schema_version(con)

    # -- reading -----------------------------------------------------------------------

    def query_df(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query with bound parameters and return a DataFrame."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def audit_log(self, limit: int | None = None) -> pd.DataFrame:
        """The audit trail, newest first (see `cxdata.store.audit`)."""
        with self.connect() as con:
            return audit_log(con, limit)

    def batches(self) -> pd.DataFrame:
        """All batches, newest first."""
        return self.query_df(
            "SELECT batch_id, source_name, study, rows, customers, imported_at, sha256, "
            "mapping, warnings FROM batches ORDER BY batch_id DESC"
        )

    def stage_order(self, present: Iterable[str] | None = None) -> list[str]:
        """Known stages in journey order (see `journey_order`; `present`: the stages that
        must be placed, usually all named by the framework, so no observation is read)."""
        with self.connect() as con:
            return journey_order(con, present)

    def stats(self) -> dict[str, Any]:
        """Headline counts: observations, customers, batches and stages in journey order."""
        with self.connect() as con:
            row = con.execute(
                "SELECT count(*), count(DISTINCT customer_id), (SELECT count(*) FROM batches) "
                "FROM observations"
            ).fetchone()
            observed = {
                str(s) for (s,) in con.execute("SELECT DISTINCT stage FROM observations").fetchall()
            }
            order = journey_order(con, observed)
        assert row is not None
        return {
            "observations": int(row[0]),
            "customers": int(row[1]),
            "batches": int(row[2]),
            "stages": [s for s in order if s in observed],
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
                               0) FROM persona_names),
                       (SELECT coalesce(max(id), 0) FROM audit)
                   FROM batches"""
            ).fetchone()
        assert row is not None
        return "-".join(str(v) for v in row)

    # -- writing -------------------------------------------------------------------------

    def remove_batch(self, batch_id: int, *, actor: str = DEFAULT_ACTOR) -> int:
        """Remove a batch and everything it brought; returns the observations removed."""
        with self.transaction() as con:
            return delete_batch(con, batch_id, actor)


def delete_batch(con: duckdb.DuckDBPyConnection, batch_id: int, actor: str) -> int:
    """Delete a batch and everything it brought, audited, inside the caller's transaction
    (an import that replaces a batch does it in the transaction that writes the new one)."""
    found = con.execute(
        "SELECT source_name, sha256 FROM batches WHERE batch_id = ?", [batch_id]
    ).fetchone()
    if found is None:
        raise StoreError(f"There is no batch {batch_id}.")
    n = con.execute("SELECT count(*) FROM observations WHERE batch_id = ?", [batch_id]).fetchone()
    con.execute("DELETE FROM observations WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM customer_attributes WHERE batch_id = ?", [batch_id])
    # assignments of customers who no longer have any observation go too
    con.execute(
        "DELETE FROM persona_assignments WHERE customer_id NOT IN "
        "(SELECT DISTINCT customer_id FROM observations)"
    )
    con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
    removed = int(n[0]) if n else 0
    details = {"batch_id": batch_id, "file": found[0], "sha256": found[1]}
    record(con, actor, "remove_batch", details | {"observations": removed})
    return removed


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


def scratch_dir_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".scratch")


def scratch_dir_of(con: duckdb.DuckDBPyConnection) -> Path:
    """The scratch folder of the database `con` is connected to (see Store.scratch_dir)."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if row is None or not row[0]:
        raise StoreError("This connection has no database file, so no scratch folder.")
    return scratch_dir_for(Path(str(row[0])))
