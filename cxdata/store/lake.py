"""The Parquet lake: the store's canonical tables as Parquet files, for engines past one
machine (Spark reads them; `cxdata.engine.spark_engine`). The DuckDB store stays the
system of record; the lake is a copy that `sync_lake` keeps equal to it. It may live in a
local folder or at any URL Spark reads (`cxdata.store.lake_files`).

The manifest `cxdata-lake.json` is the lake: it names every file a reader reads, with a
fingerprint (row count and content hash) per part. Files are written once, each under a new
name; a sync writes the files whose part changed, then replaces the manifest in one step,
then deletes the files it no longer names. A reader that read the manifest reads complete
files only, on a local disk or an object store alike (no folder is ever renamed).

Parts, one file each, under one folder per table (CANONICAL_TABLES):
- `observations/batch_id-N/` and `customer_attributes/batch_id-N/`: one part per batch;
- `persona_assignments/model_id-N/`: one part per persona model;
- every other table in `TABLE/all/`;
- `TABLE/schema-*.parquet`: no rows, only the columns (an engine can read an empty table);
- `persona_assignments_engine/model_id-N/`: persona assignments an engine wrote itself
  (personas fitted on Spark: every customer is assigned in Spark and written here, never
  collected; `publish_engine_assignments`). The store keeps the model (the system of
  record), not these rows; the Spark engine reads a model's assignments from here in
  preference to the synced copy. A sync keeps them, drops those of models the store no
  longer has, and rewrites a part without the customers the store no longer has (erased,
  or their batches removed: the store's own rule).

A removed batch's part and every part that held an erased customer are dropped or
rewritten, and their old files deleted, so no Parquet file keeps a copy of an erased id.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from cxdata.store.lake_files import LakeError, LakeFiles

if TYPE_CHECKING:
    import duckdb

    from cxdata.store import Store

__all__ = ["LakeError", "LakeFiles", "LakeSync", "publish_engine_assignments", "sync_lake"]

MANIFEST = "cxdata-lake.json"
FORMAT = 2
WHOLE = "all"
PARTITIONED = {
    "observations": "batch_id",
    "customer_attributes": "batch_id",
    "persona_assignments": "model_id",
}
"""Tables written one part per value of this column; the others in one part."""
LAKE_TABLES = ("observations", "customer_attributes", "batches", "stages",
               "framework_versions", "framework_stages", "framework_touchpoints",
               "framework_interactions", "persona_models", "persona_assignments",
               "persona_names")  # fmt: skip
"""The engines' canonical tables (`cxdata.engine.CANONICAL_TABLES`; a test keeps them equal)."""
ENGINE_ASSIGNMENTS = "persona_assignments_engine"
"""The folder of persona assignments written by an engine, one `model_id-N` part per model."""


@dataclass
class LakeSync:
    """What one sync did: parts written and removed (`TABLE/PART`), parts unchanged."""

    lake: str
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        if not self.written and not self.removed:
            unchanged = f"({self.unchanged} parts)"
            return f"The lake {self.lake} is up to date {unchanged}: nothing written."
        return (
            f"Lake {self.lake}: {len(self.written)} parts written, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged."
        )


def read_manifest(lake: LakeFiles | Path | str) -> dict[str, Any]:
    """The lake's manifest; an empty one when there is none yet."""
    files = lake if isinstance(lake, LakeFiles) else LakeFiles.at(lake)
    text = files.read_text(MANIFEST)
    if text is None:
        return {"format": FORMAT, "tables": {}}
    where = files.spark_path(MANIFEST)
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise LakeError(f"Cannot read the lake's manifest {where}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise LakeError(
            f"{where} is not a cxdata lake manifest of format {FORMAT} (an older cxdata "
            "wrote it): sync into a new folder."
        )
    return dict(manifest)


def manifest_version(text: str) -> str:
    """A short content hash of the manifest: changes exactly when a sync changed the lake."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parquet_paths(manifest: dict[str, Any], table: str) -> list[str]:
    """The files (lake-relative) a reader reads for `table`: its schema file, then the
    synced parts, without those an engine wrote itself (`engine_paths`)."""
    entry = manifest["tables"][table]
    engine = manifest.get(ENGINE_ASSIGNMENTS, {}) if table == "persona_assignments" else {}
    parts = [p["path"] for name, p in sorted(entry["parts"].items()) if name not in engine]
    return [entry["schema"], *parts]


def engine_paths(manifest: dict[str, Any]) -> list[str]:
    """The folders of the persona assignments an engine wrote into the lake."""
    return [p["path"] for _, p in sorted(manifest.get(ENGINE_ASSIGNMENTS, {}).items())]


def sync_lake(store: Store, lake: LakeFiles | Path | str) -> LakeSync:
    """Make the lake equal to the store's canonical tables, writing only what changed."""
    files = lake if isinstance(lake, LakeFiles) else LakeFiles.at(lake)
    if files.local is not None:
        if files.local.exists() and not files.local.is_dir():
            raise LakeError(f"The lake {lake} exists and is not a folder.")
        files.local.mkdir(parents=True, exist_ok=True)
    result = LakeSync(files.url)
    with _only_sync(files):
        manifest = read_manifest(files)
        _remove_unnamed(files, manifest)
        replaced: list[str] = []
        new: dict[str, Any] = {}
        with store.connect() as con:
            con.execute("BEGIN TRANSACTION")  # one snapshot of every table
            try:
                for table in LAKE_TABLES:
                    old = manifest["tables"].get(table)
                    new[table] = _sync_table(con, files, table, old, result, replaced)
            finally:
                con.execute("ROLLBACK")  # read only
        with store.connect() as con:
            engine = _sync_engine_assignments(
                con, files, manifest.get(ENGINE_ASSIGNMENTS, {}), result, replaced
            )
        _write_manifest(files, {"format": FORMAT, "tables": new, ENGINE_ASSIGNMENTS: engine})
        for path in replaced:
            files.delete(path)
    return result


def publish_engine_assignments(lake: LakeFiles, model_id: int, write: Callable[[str], int]) -> int:
    """Put one model's assignments into the lake: `write(url)` writes them as Parquet
    files into the new folder `url` (Spark: one file per partition, on any file system
    Spark writes) and returns the rows; the manifest then names the folder, so a reader
    sees all of it or none. Returns the rows."""
    part = f"model_id-{int(model_id)}"
    token = uuid.uuid4().hex
    relative = f"{ENGINE_ASSIGNMENTS}/{part}/{token}"
    with _only_sync(lake):
        try:
            rows = write(lake.spark_path(relative))
            manifest = read_manifest(lake)
            parts = dict(manifest.get(ENGINE_ASSIGNMENTS, {}))
            old = parts.get(part)
            parts[part] = {"fingerprint": f"{rows}:{token}", "path": relative}
            _write_manifest(lake, manifest | {ENGINE_ASSIGNMENTS: parts})
        except BaseException:
            lake.delete(relative)
            raise
        if old is not None:
            lake.delete(old["path"])
    return rows


def _sync_engine_assignments(
    con: duckdb.DuckDBPyConnection,
    files: LakeFiles,
    known: dict[str, dict[str, str]],
    result: LakeSync,
    replaced: list[str],
) -> dict[str, dict[str, str]]:
    """Keep the engine-written assignments of models the store has, without customers the
    store no longer has (`delete_batch` and `erase_customer` drop theirs in the store)."""
    import pyarrow.dataset as ds

    models = {int(m) for (m,) in con.execute("SELECT model_id FROM persona_models").fetchall()}
    kept: dict[str, dict[str, str]] = {}
    for part, entry in sorted(known.items()):
        if int(part.rsplit("-", 1)[-1]) not in models:
            replaced.append(entry["path"])
            result.removed.append(f"{ENGINE_ASSIGNMENTS}/{part}")
            continue
        rows = ds.dataset(files.path(entry["path"]), filesystem=files.fs, format="parquet")
        con.register("cx_engine_rows", rows)
        try:
            present = "customer_id IN (SELECT customer_id FROM observations)"
            ((total, gone),) = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE NOT {present}) FROM cx_engine_rows"
            ).fetchall()
            if not gone:
                kept[part] = entry
                result.unchanged += 1
                continue
            token = uuid.uuid4().hex
            relative = f"{ENGINE_ASSIGNMENTS}/{part}/{token}.parquet"
            _write(con, f"SELECT * FROM cx_engine_rows WHERE {present}", files, relative)
        finally:
            con.unregister("cx_engine_rows")
        kept[part] = {"fingerprint": f"{total - gone}:{token}", "path": relative}
        replaced.append(entry["path"])
        result.written.append(f"{ENGINE_ASSIGNMENTS}/{part}")
    return kept


def _sync_table(
    con: duckdb.DuckDBPyConnection,
    files: LakeFiles,
    table: str,
    old: dict[str, Any] | None,
    result: LakeSync,
    replaced: list[str],
) -> dict[str, Any]:
    columns = [str(c) for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = 'main' ORDER BY ordinal_position", [table]).fetchall()]  # fmt: skip
    if old is not None and old["columns"] == columns:
        schema, known = old["schema"], dict(old["parts"])
    else:  # new, or the columns changed: every part is written again
        schema = f"{table}/schema-{uuid.uuid4().hex}.parquet"
        _write(con, f"SELECT * FROM {_quoted(table)} LIMIT 0", files, schema)
        known = {}
        if old is not None:
            replaced.append(old["schema"])
            replaced.extend(p["path"] for p in old["parts"].values())
    parts: dict[str, dict[str, str]] = {}
    for part, fingerprint in _fingerprints(con, table).items():
        before = known.pop(part, None)
        if before is not None and before["fingerprint"] == fingerprint:
            parts[part] = before
            result.unchanged += 1
            continue
        relative = f"{table}/{part}/{uuid.uuid4().hex}.parquet"
        _write(con, _part_query(table, part), files, relative)
        parts[part] = {"fingerprint": fingerprint, "path": relative}
        result.written.append(f"{table}/{part}")
        if before is not None:
            replaced.append(before["path"])
    for part, gone in sorted(known.items()):  # parts whose rows are all gone
        replaced.append(gone["path"])
        result.removed.append(f"{table}/{part}")
    return {"columns": columns, "schema": schema, "parts": parts}


def _fingerprints(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Part name -> `rows:content hash` of its rows (any changed, added or removed row
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


def _part_query(table: str, part: str) -> str:
    query = f"SELECT * FROM {_quoted(table)}"
    if part == WHOLE:
        return query
    key, value = part.rsplit("-", 1)
    return query + f" WHERE {_quoted(key)} = {int(value)}"


def _write(con: duckdb.DuckDBPyConnection, query: str, files: LakeFiles, relative: str) -> None:
    """Write the query's rows as one Parquet file at `relative` (a name no reader knows
    yet): straight into a local lake, through a file of this machine into a remote one."""
    copy = "COPY ({}) TO {} (FORMAT parquet, COMPRESSION zstd)"
    if files.local is not None:
        target = files.local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        con.execute(copy.format(query, _literal(str(target))))
        return
    with tempfile.TemporaryDirectory(prefix="cxdata-lake-") as tmp:
        local = Path(tmp) / "part.parquet"
        con.execute(copy.format(query, _literal(str(local))))
        files.upload(local, relative)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_manifest(files: LakeFiles, manifest: dict[str, Any]) -> None:
    files.write_text(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


def _remove_unnamed(files: LakeFiles, manifest: dict[str, Any]) -> None:
    """Delete what a killed sync left: files in the lake's folders that the manifest does
    not name (only one sync or engine write runs at a time: `_only_sync`)."""
    named = [entry["schema"] for entry in manifest["tables"].values()]
    for entry in manifest["tables"].values():
        named.extend(p["path"] for p in entry["parts"].values())
    named.extend(engine_paths(manifest))
    keep, inside = set(named), tuple(f"{n}/" for n in named)  # a file, or a folder's files
    for folder in (*LAKE_TABLES, ENGINE_ASSIGNMENTS):
        for path in files.files(folder):
            if path not in keep and not path.startswith(inside):
                files.delete(path)
    if files.local is not None:  # a manifest being written when the sync was killed
        for left in files.local.glob(f"{MANIFEST}.*.tmp"):
            left.unlink(missing_ok=True)


@contextmanager
def _only_sync(files: LakeFiles) -> Iterator[None]:
    """One writer at a time: a lock beside a local lake; for a remote lake, a lock on this
    machine (run the syncs of one remote lake from one machine)."""
    if files.local is not None:
        lock = files.local / ".cxdata-lake.lock"
    else:
        key = hashlib.sha256(files.url.encode()).hexdigest()[:16]
        lock = Path(tempfile.gettempdir()) / f"cxdata-lake-{key}.lock"
    try:
        with FileLock(str(lock), timeout=30):
            yield
    except Timeout:
        raise LakeError(f"Another sync is writing the lake {files.url}; try again later.") from None
