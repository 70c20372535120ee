"""The audit trail: who imported, removed or erased what, and when.

Each change writes its audit row on the same connection and in the same transaction as
the change itself, so the trail can neither miss a change nor claim one that was rolled
back. Details never hold a customer id: an erasure's audit row would otherwise keep the
very id it erased.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_ACTOR = "local"
"""Who acts when nobody is known (the library, the app without team mode)."""

ACTIONS = (
    "import",
    "remove_batch",
    "erase",
    "framework_import",
    "persona_fit",
    "persona_rename",
    "remove_sample",
)


def os_user() -> str:
    """The operating-system user (the CLI's actor); DEFAULT_ACTOR when it cannot be told."""
    try:
        return getpass.getuser() or DEFAULT_ACTOR
    except (OSError, KeyError):
        return DEFAULT_ACTOR


def record(
    con: duckdb.DuckDBPyConnection, actor: str, action: str, details: dict[str, Any]
) -> None:
    """Add one audit row on `con` (inside the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute(
        "INSERT INTO audit VALUES (nextval('audit_id_seq'), now(), ?, ?, ?)",
        [actor or DEFAULT_ACTOR, action, json.dumps(details, default=str, sort_keys=True)],
    )


def audit_log(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> pd.DataFrame:
    """The audit trail, newest first: id, at, actor, action, details (JSON text)."""
    sql = 'SELECT id, "at", actor, action, CAST(details AS VARCHAR) AS details FROM audit '
    sql += "ORDER BY id DESC" + (" LIMIT ?" if limit is not None else "")
    return con.execute(sql, [limit] if limit is not None else []).df()
