"""The Parquet lake: the store's canonical tables as Parquet files, for engines past one
machine (Spark reads them; `cxdata.engine.spark_engine`). The DuckDB store stays the
system of record; the lake is a copy that `sync_lake` keeps equal to it.

Layout under the lake folder, one folder per table (CANONICAL_TABLES):
- `observations/batch_id-N/` and `customer_attributes/batch_id-N/`: one folder per batch;
- `persona_assignments/model_id-N/`: one folder per persona model;
- every other table in `TABLE/all/`;
- `TABLE/schema.parquet`: no rows, only the columns (an engine can read an empty table);
- `cxdata-lake.json`: the manifest, a fingerprint (row count and content hash) per folder;
- `persona_assignments_engine/model_id-N/`: persona assignments an engine wrote itself
  (personas fitted on Spark: every customer is assigned in Spark and written here, never
  collected; `publish_engine_assignments`). The store keeps the model (the system of
  record), not these rows; the Spark engine reads a model's assignments from here in
  preference to the synced copy. A sync keeps these folders, removes those of models the
  store no longer has, and rewrites a folder without the customers the store no longer has
  (erased, or their batches removed: the store's own rule), so an erased id is left in no
  Parquet file here either.

A sync writes only the folders whose fingerprint changed (a second run writes nothing),
each to a hidden temporary name that is renamed into place (readers skip names that start
with `.`, so Spark never reads half a folder), and deletes the folders whose rows are gone:
a removed batch, or every folder that held an erased customer, is rewritten without them,
so no Parquet file keeps a copy of the erased id.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from cxdata.store.database import StoreError

if TYPE_CHECKING:
    import duckdb

    from cxdata.store import Store

MANIFEST = "cxdata-lake.json"
FORMAT = 1
SCHEMA_FILE = "schema.parquet"
DATA_FILE = "data.parquet"
WHOLE = "all"
PARTITIONED = {
    "observations": "batch_id",
    "customer_attributes": "batch_id",
    "persona_assignments": "model_id",
}
"""Tables written one folder per value of this column; the others in one folder."""
LAKE_TABLES = ("observations", "customer_attributes", "batches", "stages",
               "framework_versions", "framework_stages", "framework_touchpoints",
               "framework_interactions", "persona_models", "persona_assignments",
               "persona_names")  # fmt: skip
"""The engines' canonical tables (`cxdata.engine.CANONICAL_TABLES`; a test keeps them equal)."""
ENGINE_ASSIGNMENTS = "persona_assignments_engine"
"""The folder of persona assignments written by an engine, one `model_id-N` per model."""


class LakeError(StoreError):
    """The lake cannot be written (not a folder, busy with another sync...)."""


@dataclass
class LakeSync:
    """What one sync did: folders written and removed (`TABLE/FOLDER`), folders unchanged."""

    lake: Path
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        if not self.written and not self.removed:
            unchanged = f"({self.unchanged} folders)"
            return f"The lake {self.lake} is up to date {unchanged}: nothing written."
        return (
            f"Lake {self.lake}: {len(self.written)} folders written, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged."
        )


def read_manifest(lake: Path) -> dict[str, Any]:
    """The manifest of a local lake; an empty one when the folder has none yet."""
    path = lake / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "tables": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LakeError(f"Cannot read the lake's manifest {path}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise LakeError(f"{path} is not a cxdata lake manifest of format {FORMAT}.")
    return dict(manifest)


def manifest_version(text: str) -> str:
    """A short content hash of the manifest: changes exactly when a sync changed the lake."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sync_lake(store: Store, lake: Path | str) -> LakeSync:
    """Make the lake equal to the store's canonical tables, writing only what changed."""
    lake = Path(lake)
    if lake.exists() and not lake.is_dir():
        raise LakeError(f"The lake {lake} exists and is not a folder.")
    lake.mkdir(parents=True, exist_ok=True)
    result = LakeSync(lake)
    with _only_sync(lake):
        _remove_leftovers(lake)
        old = read_manifest(lake)["tables"]
        new: dict[str, Any] = {}
        with store.connect() as con:
            con.execute("BEGIN TRANSACTION")  # one snapshot of every table
            try:
                for table in LAKE_TABLES:
                    new[table] = _sync_table(con, lake, table, old.get(table), result)
            finally:
                con.execute("ROLLBACK")  # read only
        engine = _sync_engine_assignments(
            store, lake, read_manifest(lake).get(ENGINE_ASSIGNMENTS, {}), result
        )
        _write_manifest(lake, {"format": FORMAT, "tables": new, ENGINE_ASSIGNMENTS: engine})
    return result


def publish_engine_assignments(lake: Path, model_id: int, write: Callable[[str], int]) -> int:
    """Put one model's assignments into the lake: `write(folder)` writes them as Parquet
    files into the new folder `folder` (Spark: one file per partition) and returns the rows;
    it is written under a hidden name, renamed into place and recorded in the manifest, so a
    reader sees all of it or none. Returns the rows."""
    folder = lake / ENGINE_ASSIGNMENTS
    part = f"model_id-{int(model_id)}"
    with _only_sync(lake):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".tmp-{part}-{uuid.uuid4().hex}"
        try:
            rows = write(str(tmp))
            _replace(folder, part, tmp)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        manifest = read_manifest(lake)
        parts = dict(manifest.get(ENGINE_ASSIGNMENTS, {}))
        parts[part] = f"{rows}:{uuid.uuid4().hex}"  # a new write is a new lake version
        _write_manifest(lake, manifest | {ENGINE_ASSIGNMENTS: parts})
    return rows


def _sync_engine_assignments(
    store: Store, lake: Path, known: dict[str, str], result: LakeSync
) -> dict[str, str]:
    """Keep the engine-written assignments of models the store has, without customers the
    store no longer has (`delete_batch` and `erase_customer` drop theirs in the store)."""
    folder = lake / ENGINE_ASSIGNMENTS
    if not folder.is_dir():
        return {}
    kept: dict[str, str] = {}
    with store.connect() as con:
        models = {int(m) for (m,) in con.execute("SELECT model_id FROM persona_models").fetchall()}
        for path in sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            part = path.name
            model = part.rsplit("-", 1)[-1]
            if not model.isdigit() or int(model) not in models:
                shutil.rmtree(path)
                result.removed.append(f"{ENGINE_ASSIGNMENTS}/{part}")
                continue
            files = _literal(str(path / "*.parquet"))
            present = "customer_id IN (SELECT customer_id FROM observations)"
            row = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE NOT {present}) FROM read_parquet({files})"
            ).fetchone()
            total, gone = (int(row[0]), int(row[1])) if row else (0, 0)
            if not gone and part in known:
                kept[part] = known[part]
                result.unchanged += 1
                continue
            tmp = folder / f".tmp-{part}-{uuid.uuid4().hex}"
            tmp.mkdir()
            try:
                _copy(con, f"SELECT * FROM read_parquet({files}) WHERE {present}", tmp / DATA_FILE)
                _replace(folder, part, tmp)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
            kept[part] = f"{total - gone}:{uuid.uuid4().hex}"
            result.written.append(f"{ENGINE_ASSIGNMENTS}/{part}")
    return kept


def _sync_table(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    table: str,
    old: dict[str, Any] | None,
    result: LakeSync,
) -> dict[str, Any]:
    columns = [str(c) for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = 'main' ORDER BY ordinal_position", [table]).fetchall()]  # fmt: skip
    folder = lake / table
    folder.mkdir(exist_ok=True)
    same_columns = old is not None and old.get("columns") == columns
    known: dict[str, str] = dict(old["parts"]) if old and same_columns else {}
    if not same_columns or not (folder / SCHEMA_FILE).exists():
        _copy(con, f"SELECT * FROM {_quoted(table)} LIMIT 0", folder / SCHEMA_FILE)
    parts = _fingerprints(con, table)
    for part, fingerprint in parts.items():
        if known.get(part) == fingerprint and (folder / part / DATA_FILE).exists():
            result.unchanged += 1
            continue
        _write_part(con, folder, table, part)
        result.written.append(f"{table}/{part}")
    present = {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    stale = (set(known) | present) - set(parts)
    for part in sorted(stale):
        if (folder / part).exists():
            shutil.rmtree(folder / part)
        result.removed.append(f"{table}/{part}")
    return {"columns": columns, "parts": parts}


def _fingerprints(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Folder name -> `rows:content hash` of its rows (any changed, added or removed row
    changes it; the hash of every column of every row, summed: order does not matter)."""
    key = PARTITIONED.get(table)
    if key is None:
        row = con.execute(f"SELECT count(*), sum(hash(t)) FROM {_quoted(table)} t").fetchone()
        assert row is not None
        return {WHOLE: f"{row[0]}:{row[1] or 0}"} if row[0] else {}
    rows = con.execute(
        f"SELECT {_quoted(key)}, count(*), sum(hash(t)) FROM {_quoted(table)} t GROUP BY 1"
    ).fetchall()
    return {f"{key}-{int(k)}": f"{n}:{h}" for k, n, h in rows}


def _write_part(con: duckdb.DuckDBPyConnection, folder: Path, table: str, part: str) -> None:
    """Write one folder under a hidden name, then rename it into place."""
    query = f"SELECT * FROM {_quoted(table)}"
    if part != WHOLE:
        key, value = part.rsplit("-", 1)
        query += f" WHERE {_quoted(key)} = {int(value)}"
    tmp = folder / f".tmp-{part}-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        _copy(con, query, tmp / DATA_FILE)
        _replace(folder, part, tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _replace(folder: Path, part: str, tmp: Path) -> None:
    """Rename the written folder `tmp` to `folder/part`, the old one (if any) out of the way
    first."""
    target = folder / part
    if target.exists():
        old = folder / f".old-{part}-{uuid.uuid4().hex}"
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old)
    else:
        tmp.rename(target)


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    con.execute(f"COPY ({query}) TO {_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_manifest(lake: Path, manifest: dict[str, Any]) -> None:
    tmp = lake / f".{MANIFEST}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    tmp.replace(lake / MANIFEST)


def _remove_leftovers(lake: Path) -> None:
    """Hidden folders a killed sync left (only one sync runs at a time: `_only_sync`)."""
    for table in lake.iterdir():
        if table.is_dir():
            for left in table.glob(".*-*"):
                shutil.rmtree(left, ignore_errors=True)
    for left in lake.glob(f".{MANIFEST}.*"):
        left.unlink(missing_ok=True)


@contextmanager
def _only_sync(lake: Path) -> Iterator[None]:
    try:
        with FileLock(str(lake / ".cxdata-lake.lock"), timeout=30):
            yield
    except Timeout:
        raise LakeError(f"Another sync is writing the lake {lake}; try again later.") from None
