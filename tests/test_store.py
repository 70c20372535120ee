"""Batches: atomic, idempotent, removable; attributes kept with types; busy database."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.store import Store, StoreBusyError
from cxdata.store.schema import SCHEMA_VERSION
from tests.conftest import table_checksum

LOG = (
    "observation_id,customer_id,stage,score,age,vip,joined,segment,spend\n"
    "O1,C1,Purchase,2,34,true,2024-05-01,A,10.5\n"
    "O2,C1,Delivery,-1,34,true,2024-05-01,B,10.5\n"
    "O3,C2,Purchase,1,51,false,2023-01-09,A,7\n"
)


def test_batch_record_and_attributes_with_types(store, write):
    result = ingest_file(store, write("log.csv", LOG), study="Pilot")
    batch = store.batches().iloc[0]
    assert (batch.batch_id, batch.source_name, batch.study, batch.rows, batch.customers) == (
        1,
        "log.csv",
        "Pilot",
        3,
        2,
    )
    assert len(batch.sha256) == 64
    assert json.loads(batch.mapping)["columns"]["customer_id"] == "customer_id"
    assert result.extras == {
        "age": "BIGINT",
        "vip": "BOOLEAN",
        "joined": "TIMESTAMP",
        "segment": "VARCHAR",
        "spend": "DOUBLE",
    }
    attrs = store.query_df(
        "SELECT customer_id, name, dtype, value, number FROM customer_attributes "
        "ORDER BY customer_id, name, value"
    )
    c1 = attrs[attrs.customer_id == "C1"]
    # C1's segment differs between rows: both values are kept, nothing is dropped.
    assert c1[c1.name == "segment"]["value"].tolist() == ["A", "B"]
    assert c1[c1.name == "age"][["value", "number"]].values.tolist() == [["34", 34.0]]
    assert c1[c1.name == "spend"]["number"].tolist() == [10.5]
    assert len(attrs) == 11  # 2 customers x 5 attributes, + C1's second segment
    rows = store.query_df("SELECT batch_id, source_row FROM observations ORDER BY source_row")
    assert rows.values.tolist() == [[1, 2], [1, 3], [1, 4]]


def test_same_content_twice_adds_nothing(store, write):
    first = ingest_file(store, write("a.csv", LOG))
    before = table_checksum(store)
    again = ingest_file(store, write("renamed.csv", LOG))
    assert again.already_imported and again.batch_id == first.batch_id
    assert again.message() == "renamed.csv: already imported as batch 1; nothing added"
    assert table_checksum(store) == before


def test_remove_batch_removes_everything_it_brought(store, write):
    ingest_file(store, write("a.csv", LOG))
    before = table_checksum(store)
    ingest_file(store, write("b.csv", LOG.replace("O", "P").replace("C1", "C9")))
    assert store.stats()["observations"] == 6
    assert store.remove_batch(2) == 3
    after = table_checksum(store)
    changed = ("batches", "audit")  # the audit trail records the import and the removal
    assert {k: v for k, v in after.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed
    }
    assert store.batches()["batch_id"].tolist() == [1]
    # batch ids are never reused, and the removed content can be imported again
    assert ingest_file(store, write("b2.csv", LOG.replace("O", "P"))).batch_id == 3


def test_stats_and_stage_order(store, write):
    ingest_file(store, write("a.csv", "customer_id,stage,score\nC1,Usage,1\nC2,Purchase,2\n"))
    assert store.stats() == {
        "observations": 2,
        "customers": 2,
        "batches": 1,
        "stages": ["Usage", "Purchase"],
    }


def test_schema_is_versioned_and_migration_is_idempotent(store):
    assert store.schema_version() == SCHEMA_VERSION
    Store.open(store.settings, store.path)  # opening again migrates nothing
    assert store.schema_version() == SCHEMA_VERSION


def test_busy_database_gives_a_plain_message(tmp_path):
    db = tmp_path / "busy.duckdb"
    Store.open(Settings(), db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = Store(db, Settings(lock_timeout_s=0.5))
        started = time.monotonic()
        with pytest.raises(StoreBusyError) as err:
            busy.stats()
        assert 0.5 <= time.monotonic() - started < 5
        assert "is busy" in str(err.value) and str(db) in str(err.value)
    finally:
        holder.kill()
        holder.wait()


def test_writer_waits_for_the_lock_then_succeeds(tmp_path, write):
    db = tmp_path / "wait.duckdb"
    Store.open(Settings(), db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
            "time.sleep(1.5); c.close(); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        patient = Store(db, Settings(lock_timeout_s=20))
        result = ingest_file(patient, write("a.csv", LOG))
        assert result.rows == 3 and patient.stats()["observations"] == 3
    finally:
        holder.kill()
        holder.wait()


def test_memory_cap_applies_to_every_connection(tmp_path):
    store = Store.open(Settings(memory_limit_mb=300), tmp_path / "cap.duckdb")
    with store.connect() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("286.1 MiB",)


def test_a_failed_migration_step_is_rolled_back(store, monkeypatch):
    """A step that fails half-way leaves nothing of itself, the recorded version stays at the
    last whole step, the same connection works on, and the step applies once fixed."""
    import duckdb

    from cxdata.store import schema

    broken = ["CREATE TABLE half_done (x INTEGER)", "CREATE TABLE broken (x NO_SUCH_TYPE)"]
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema._MIGRATIONS, SCHEMA_VERSION + 1, broken)
    with duckdb.connect(str(store.path)) as con:
        with pytest.raises(duckdb.Error, match="NO_SUCH_TYPE"):
            schema.migrate(con)
        # Without ROLLBACK this raised "Current transaction is aborted (please ROLLBACK)".
        assert schema.schema_version(con) == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "half_done" not in tables and "batches" in tables
        schema._MIGRATIONS[SCHEMA_VERSION + 1] = broken[:1]
        schema.migrate(con)
        assert schema.schema_version(con) == SCHEMA_VERSION + 1
        assert con.execute("SELECT count(*) FROM half_done").fetchone() == (0,)
