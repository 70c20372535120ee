"""One import as both ingest paths see it: the job, what it did (or would do), and the
progress callback they report to."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cxdata.errors import Problem
from cxdata.ingest.mapping import Mapping
from cxdata.store import Store

Progress = Callable[[float, str], object]


@dataclass(frozen=True)
class ImportJob:
    """One file to import: where it goes, what it is called, how it maps, who imports it;
    `digest` is its SHA-256, computed in a thread while DuckDB parses the file."""

    store: Store
    path: Path
    name: str
    mapping: Mapping
    study: str | None
    digest: Future[str]
    report: Progress
    actor: str
    replace: bool = False  # content already imported: remove that batch, import this one


@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    batch_id: int | None
    rows: int
    customers: int
    already_imported: bool = False
    dry_run: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    description: str = ""
    mapping_differs: bool = False  # already imported, but with another mapping
    replaces: int | None = None  # the batch of the same content this import replaces

    def message(self) -> str:
        if self.already_imported and self.mapping_differs:
            return (
                f"{self.file}: already imported as batch {self.batch_id} with a different "
                "mapping; nothing added. To import it with this mapping instead, replace the "
                f"batch (Replace batch {self.batch_id} on the Upload page, or cxdata ingest "
                f"--replace): batch {self.batch_id} is removed and the file imported again, "
                "in one transaction"
            )
        if self.already_imported:
            return f"{self.file}: already imported as batch {self.batch_id}; nothing added"
        replacing = f", replacing batch {self.replaces}" if self.replaces is not None else ""
        if self.dry_run:
            return (
                f"{self.file}: {self.rows:,} observations would be imported{replacing} "
                f"({self.description})"
            )
        return (
            f"{self.file}: imported as batch {self.batch_id}{replacing}: {self.rows:,} "
            f"observations, {self.customers:,} customers ({self.description})"
        )


def _significant(mapping: dict[str, Any]) -> dict[str, Any]:
    """A mapping record without its empty parts (older batches lack newer, empty keys)."""
    return {k: v for k, v in mapping.items() if v not in (None, False, [], {}, "")}


def batch_mapping_differs(con: duckdb.DuckDBPyConnection, batch_id: int, mapping: Mapping) -> bool:
    """Was batch `batch_id` imported with another mapping file than `mapping`? (Batches
    store their mapping record as JSON; compared as JSON, so tuples equal lists.)"""
    row = con.execute("SELECT mapping FROM batches WHERE batch_id = ?", [batch_id]).fetchone()
    stored = json.loads(row[0]).get("mapping_file", {}) if row and row[0] else {}
    new = json.loads(json.dumps(mapping.to_dict(), default=str))
    return _significant(stored) != _significant(new)


def store_batch_with_sha(con: duckdb.DuckDBPyConnection, sha: str) -> int | None:
    """The batch that already holds content with this SHA-256, if any."""
    row = con.execute("SELECT min(batch_id) FROM batches WHERE sha256 = ?", [sha]).fetchone()
    return None if row is None or row[0] is None else int(row[0])
