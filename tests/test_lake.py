"""`cxdata lake sync`: the store's tables as Parquet, incremental, idempotent, and removal
and erasure reach the lake (read back here with DuckDB and pyarrow, through the manifest as
Spark reads it in tests/test_spark_parity.py), on a local folder, a file:// URL and a file
system that is not this machine's disk (fsspec's in-memory one, object-store-like: no
folders, no renames)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from cxdata.cli import main
from cxdata.config import Settings
from cxdata.engine import CANONICAL_TABLES
from cxdata.ingest import ingest_file
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings
from cxdata.sample.load import load_sample
from cxdata.store import Store
from cxdata.store.lake import (
    LAKE_TABLES,
    MANIFEST,
    LakeError,
    LakeFiles,
    parquet_paths,
    read_manifest,
    sync_lake,
)
from cxdata.store.privacy import erase_customer

EXTRA = (
    "customer_id,stage,score,channel,tier\n"
    "X1,Delivery,2,web,Gold\nX1,Purchase,-1,web,Gold\nX2,Purchase,1,store,Basic\n"
)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Store:
    store = Store.open(Settings(), tmp_path_factory.mktemp("lake") / "cx.duckdb")
    load_sample(store)
    return store


def _lake_rows(lake: Path | LakeFiles, table: str) -> int:
    """The rows a reader of the manifest sees (pyarrow: works on any of the file systems)."""
    files = lake if isinstance(lake, LakeFiles) else LakeFiles.at(lake)
    paths = [files.path(p) for p in parquet_paths(read_manifest(files), table)]
    return sum(pq.read_metadata(files.fs.open_input_file(p)).num_rows for p in paths)


def _unnamed_files(lake: Path | LakeFiles) -> set[str]:
    """Files in the lake that its manifest does not name (what a sync must not leave)."""
    files = lake if isinstance(lake, LakeFiles) else LakeFiles.at(lake)
    manifest = read_manifest(files)
    named = {p for t in LAKE_TABLES for p in parquet_paths(manifest, t)}
    return set(files.files("")) - named - {MANIFEST, ".cxdata-lake.lock"}


def _store_rows(store: Store, table: str) -> int:
    return int(store.query_df(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])


def test_the_lake_has_every_canonical_table():
    assert LAKE_TABLES == CANONICAL_TABLES


def test_sync_writes_every_table_then_nothing(sample_store, tmp_path):
    lake = tmp_path / "lake"
    first = sync_lake(sample_store, lake)
    batches = sorted(sample_store.batches()["batch_id"])
    assert len(batches) == 4
    for table in ("observations", "customer_attributes"):
        assert {f"{table}/batch_id-{b}" for b in batches} <= set(first.written)
    for table in LAKE_TABLES:
        assert _lake_rows(lake, table) == _store_rows(sample_store, table), table
    assert _unnamed_files(lake) == set()
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")}
    second = sync_lake(sample_store, lake)
    assert second.written == [] and second.removed == []
    assert second.unchanged == len(first.written)
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*.parquet")} == before
    assert "nothing written" in second.summary()


def test_a_new_batch_writes_only_its_folders(store, write, tmp_path):
    lake = tmp_path / "lake"
    ingest_file(store, write("a.csv", EXTRA))
    sync_lake(store, lake)
    ingest_file(store, write("b.csv", EXTRA.replace("X", "Y")))
    again = sync_lake(store, lake)
    assert set(again.written) == {
        "observations/batch_id-2", "customer_attributes/batch_id-2", "batches/all"
    }  # fmt: skip
    assert _lake_rows(lake, "observations") == 6


def test_a_removed_batch_leaves_the_lake(store, write, tmp_path):
    lake = tmp_path / "lake"
    ingest_file(store, write("a.csv", EXTRA))
    ingest_file(store, write("b.csv", EXTRA.replace("X", "Y")))
    sync_lake(store, lake)
    store.remove_batch(1)
    result = sync_lake(store, lake)
    assert {"observations/batch_id-1", "customer_attributes/batch_id-1"} <= set(result.removed)
    assert not (lake / "observations" / "batch_id-1").exists()
    assert "batch_id-1" not in read_manifest(lake)["tables"]["observations"]["parts"]
    ids = duckdb.sql(
        f"SELECT DISTINCT customer_id FROM read_parquet('{lake}/observations/**/*.parquet')"
    ).fetchall()
    assert sorted(i for (i,) in ids) == ["Y1", "Y2"]
    assert _unnamed_files(lake) == set()


def test_an_erased_customer_is_in_no_parquet_file(tmp_path):
    """Every Parquet file is decoded (every column, every row) and scanned byte by byte
    (the footer's min/max statistics are plain bytes) for the erased id."""
    store = Store.open(Settings(), tmp_path / "cx.duckdb")
    load_sample(store)
    discover(store, PersonaSettings(k=3, bootstraps=2))
    lake = tmp_path / "lake"
    sync_lake(store, lake)
    target = str(store.query_df("SELECT min(customer_id) AS c FROM observations")["c"].iloc[0])
    assert _in_files(lake, target)  # the lake held the customer before
    erase_customer(store, target)
    result = sync_lake(store, lake)
    assert any(w.startswith("persona_assignments/") for w in result.written)
    assert not _in_files(lake, target)
    assert target not in (lake / MANIFEST).read_text()
    for table in LAKE_TABLES:
        assert _lake_rows(lake, table) == _store_rows(store, table), table


def _in_files(lake: Path, needle: str) -> list[Path]:
    found = []
    for path in lake.rglob("*"):
        if not path.is_file():
            continue
        if needle.encode() in path.read_bytes():
            found.append(path)
        elif path.suffix == ".parquet":
            for column in pq.read_table(path).columns:
                if any(needle in str(v) for v in column.to_pylist()):
                    found.append(path)
    return found


def test_a_killed_sync_changes_nothing_a_reader_sees(store, write, tmp_path, monkeypatch):
    """Killed after writing the new batch's files, before the manifest: readers still see
    the old lake, and the next sync deletes what the killed one left."""
    lake = tmp_path / "lake"
    ingest_file(store, write("a.csv", EXTRA))
    sync_lake(store, lake)
    manifest = (lake / MANIFEST).read_text()
    ingest_file(store, write("b.csv", EXTRA.replace("X", "Y")))

    def killed(files, manifest):
        raise KeyboardInterrupt

    monkeypatch.setattr("cxdata.store.lake._write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        sync_lake(store, lake)
    monkeypatch.undo()
    assert (lake / MANIFEST).read_text() == manifest
    assert _lake_rows(lake, "observations") == 3
    assert _unnamed_files(lake)  # the killed sync's files
    again = sync_lake(store, lake)
    assert "observations/batch_id-2" in again.written
    assert _lake_rows(lake, "observations") == 6
    assert _unnamed_files(lake) == set()


def test_a_file_is_no_lake_and_an_old_lake_is_refused(store, write, tmp_path):
    ingest_file(store, write("a.csv", EXTRA))
    with pytest.raises(LakeError, match="not a folder"):
        sync_lake(store, store.path)
    old = tmp_path / "old"
    old.mkdir()
    (old / MANIFEST).write_text('{"format": 1, "tables": {}}')
    with pytest.raises(LakeError, match="older cxdata"):
        sync_lake(store, old)


def test_a_file_url_is_the_same_lake(store, write, tmp_path):
    ingest_file(store, write("a.csv", EXTRA))
    lake = tmp_path / "lake"
    sync_lake(store, lake)
    assert sync_lake(store, lake.as_uri()).written == []
    assert _lake_rows(lake, "observations") == 3


def test_a_lake_off_this_machine(tmp_path):
    """The same sync on a file system that is not a local folder: written, incremental,
    removal and erasure, through pyarrow's file system API (as S3, GCS, HDFS are)."""
    memory = pafs.PyFileSystem(pafs.FSSpecHandler(MemoryFileSystem()))
    lake = LakeFiles("memory://lake", memory, "/lake-" + tmp_path.name)
    store = Store.open(Settings(), tmp_path / "cx.duckdb")
    load_sample(store)
    first = sync_lake(store, lake)
    assert lake.local is None and len(first.written) > 10
    for table in LAKE_TABLES:
        assert _lake_rows(lake, table) == _store_rows(store, table), table
    assert sync_lake(store, lake).written == []
    target = str(store.query_df("SELECT min(customer_id) AS c FROM observations")["c"].iloc[0])
    erase_customer(store, target)
    store.remove_batch(int(store.batches()["batch_id"].max()))
    again = sync_lake(store, lake)
    assert again.written and again.removed and _unnamed_files(lake) == set()
    for table in LAKE_TABLES:
        assert _lake_rows(lake, table) == _store_rows(store, table), table
    for path in lake.files(""):
        with memory.open_input_stream(lake.path(path)) as stream:
            assert target.encode() not in stream.read(), path
        if path.endswith(".parquet"):
            table = pq.read_table(memory.open_input_file(lake.path(path)))
            assert not any(target in str(v) for c in table.columns for v in c.to_pylist())


def test_cli_lake_sync(store, write, tmp_path, capsys):
    ingest_file(store, write("a.csv", EXTRA))
    lake = tmp_path / "lake"
    assert main(["lake", "sync", str(lake), "--db", str(store.path)]) == 0
    assert "parts written" in capsys.readouterr().out
    assert main(["lake", "sync", str(lake), "--db", str(store.path)]) == 0
    assert "nothing written" in capsys.readouterr().out
    assert main(["lake", "sync", str(store.path), "--db", str(store.path)]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_spark_urls_name_the_same_objects_for_pyarrow(monkeypatch):
    """`s3a://` is Hadoop's name for S3: the sync writes the same bucket and keys through
    pyarrow, and hands Spark the URL as given (no request is made here)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    lake = LakeFiles.at("s3a://bucket/cx-lake/")
    assert type(lake.fs).__name__ == "S3FileSystem" and lake.local is None
    assert lake.path("observations/x.parquet") == "bucket/cx-lake/observations/x.parquet"
    assert (
        lake.spark_path("observations/x.parquet") == "s3a://bucket/cx-lake/observations/x.parquet"
    )
    with pytest.raises(LakeError, match="Cannot open the lake nosuch://x"):
        LakeFiles.at("nosuch://x")
