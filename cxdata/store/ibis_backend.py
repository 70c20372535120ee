"""Ibis over the store's DuckDB connections (imported only when a query needs Ibis, so the
light commands start fast)."""

from __future__ import annotations

from typing import Any

import duckdb
from ibis.backends.duckdb import Backend as IbisBackend


class LockedIbisBackend(IbisBackend):
    """Ibis over a sandboxed connection. Ibis's own set-up SETs the time zone and turns
    off replacement scans; both were done before the configuration was locked (which
    refuses every SET), so that step is skipped."""

    def _post_connect(self, extensions: Any = None) -> None:
        self._record_batch_readers_consumed: dict[str, Any] = {}


def ibis_backend(con: duckdb.DuckDBPyConnection, *, sandboxed: bool) -> IbisBackend:
    """An Ibis backend over an open connection (in the sandbox Ibis may not run its SETs)."""
    backend = LockedIbisBackend if sandboxed else IbisBackend
    return backend.from_connection(con)
