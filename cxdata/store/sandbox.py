"""The app's sandbox: DuckDB with external access off and its configuration locked.

The app runs queries on files users upload, so its connections may read nothing but the
scratch folder and the files it names (uploads, the sample); the CLI reads the user's
files and opens connections without it (see `Store.sandbox`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

_LOCK = threading.Lock()


def open_sandboxed(
    connect: Callable[[], duckdb.DuckDBPyConnection], folders: list[Path], files: tuple[Path, ...]
) -> duckdb.DuckDBPyConnection | None:
    """A connection from `connect` that may read only `folders` and `files`; None (the
    connection closed) when the database is already locked with external access on.

    No connection leaves here before the sandbox is on: the first one of the process sets
    it while later ones wait."""
    with _LOCK:
        con = connect()
        try:
            if _enter_sandbox(con, folders, files):
                return con
        except BaseException:
            con.close()
            raise
        con.close()
        return None


def _enter_sandbox(
    con: duckdb.DuckDBPyConnection, folders: list[Path], files: tuple[Path, ...]
) -> bool:
    """Turn external access off and lock the configuration of the database `con` opened;
    False if it was locked with external access on.

    The settings belong to the database instance that every connection of the process
    to this file shares, so only the first connection sets them; later ones check them.
    Afterwards DuckDB reads and writes no file but `folders` and `files` (ATTACH, COPY,
    read_csv of anything else, INSTALL, SET ... all fail) until the last connection
    closes. What ibis would SET on its connections is set here first (see
    `cxdata.store.ibis_backend`).
    """
    row = con.execute(
        "SELECT current_setting('lock_configuration'), current_setting('enable_external_access')"
    ).fetchone()
    assert row is not None
    if row[0]:
        return not row[1]
    con.execute("SET allowed_directories = ?", [[str(f.resolve()) + "/" for f in folders]])
    con.execute("SET allowed_paths = ?", [[str(f.resolve()) for f in files]])
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return True
