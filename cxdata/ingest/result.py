"""One import as both ingest paths see it: the job, what it did (or would do), and the
progress callback they report to."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

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

    def message(self) -> str:
        if self.already_imported:
            return f"{self.file}: already imported as batch {self.batch_id}; nothing added"
        if self.dry_run:
            return f"{self.file}: {self.rows:,} observations would be imported ({self.description})"
        return (
            f"{self.file}: imported as batch {self.batch_id}: {self.rows:,} observations, "
            f"{self.customers:,} customers ({self.description})"
        )


def store_batch_with_sha(con: duckdb.DuckDBPyConnection, sha: str) -> int | None:
    """The batch that already holds content with this SHA-256, if any."""
    row = con.execute("SELECT min(batch_id) FROM batches WHERE sha256 = ?", [sha]).fetchone()
    return None if row is None or row[0] is None else int(row[0])
