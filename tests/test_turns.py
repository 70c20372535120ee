"""Turns at the database file, step by step. Another process is played by a second
FileLock object on the same lock file: OS file locks on separate open files exclude each
other even inside one process."""

from __future__ import annotations

import threading

import duckdb
import pytest
from filelock import FileLock, Timeout

from cxdata.config import Settings
from cxdata.store import Store, StoreBusyError


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cx.duckdb"
    Store.open(Settings(), path)
    return path


def _held(lock_file: str) -> bool:
    other = FileLock(lock_file, thread_local=False)
    try:
        other.acquire(blocking=False)
    except Timeout:
        return True
    other.release()
    return False


def test_the_file_is_held_only_while_a_connection_is_open(db):
    store = Store.open(Settings(), db)
    assert not _held(f"{db}.hold")
    with store.connect() as con:
        assert con.execute("SELECT 42").fetchone() == (42,)
        assert _held(f"{db}.hold")
    assert not _held(f"{db}.hold")


def test_a_queued_process_gets_in_before_new_work_and_nested_work_goes_on(db):
    store = Store.open(Settings(lock_timeout_s=30), db)
    other_queue = FileLock(f"{db}.queue", thread_local=False)
    other_hold = FileLock(f"{db}.hold", thread_local=False)
    opened = threading.Event()
    order: list[str] = []

    def newcomer() -> None:
        with store.connect() as con:
            con.execute("SELECT 1").fetchone()
            order.append("newcomer")
        opened.set()

    with store.connect():
        other_queue.acquire()  # another process queues for the file
        late = threading.Thread(target=newcomer)
        late.start()
        # A connection opened inside one that is open never waits (a deadlock otherwise).
        with store.connect() as nested:
            assert nested.execute("SELECT 2").fetchone() == (2,)
        assert not opened.wait(0.3)  # new work waits for the queued process
        order.append("running work finished")
    other_hold.acquire(timeout=10)  # the queued process gets the file ...
    order.append("other process")
    other_queue.release()
    assert not opened.wait(0.3)  # ... and the newcomer waits until it is done
    other_hold.release()
    late.join(timeout=30)
    assert order == ["running work finished", "other process", "newcomer"]


def test_waiting_longer_than_the_limit_is_a_plain_busy_error(db):
    other_hold = FileLock(f"{db}.hold", thread_local=False)
    other_hold.acquire()
    try:
        with pytest.raises(StoreBusyError, match="is busy"):
            Store(db, Settings(lock_timeout_s=0.3)).stats()
    finally:
        other_hold.release()
    assert Store(db, Settings(lock_timeout_s=0.3)).stats()["observations"] == 0


def test_writers_of_one_process_take_turns(db):
    """Eight threads write the same meta key and add rows at once: no conflict errors,
    every row stored (DuckDB alone raises "Conflict" or duplicate-key errors here)."""
    store = Store.open(Settings(lock_timeout_s=30), db)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                store.set_meta("last_writer", f"{n}-{i}")
                with store.transaction() as con:
                    con.execute("INSERT INTO stages VALUES (?, ?)", [f"S{n}-{i}", i])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert store.query_df("SELECT count(*) AS n FROM stages")["n"][0] == 40
    assert store.get_meta("last_writer") is not None


def test_the_same_file_uploaded_by_eight_sessions_at_once_is_imported_once(db, write):
    """Every upload passes the "already imported" check before any is written; the check
    is repeated under the write lock, so one import wins and seven are told so."""
    from cxdata.ingest import ingest_file

    store = Store.open(Settings(lock_timeout_s=30), db)
    rows = "".join(f"O{i},C{i % 9},Purchase,{i % 7 - 3}\n" for i in range(500))
    path = write("same.csv", "observation_id,customer_id,stage,score\n" + rows)
    start = threading.Barrier(8)
    results: list[object] = []

    def upload() -> None:
        start.wait()
        results.append(ingest_file(store, path))

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8
    assert sorted(r.already_imported for r in results) == [False] + [True] * 7  # type: ignore[attr-defined]
    assert store.stats() | {"stages": None} == {
        "observations": 500,
        "customers": 9,
        "batches": 1,
        "stages": None,
    }


def _threads(con) -> int:
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_a_kept_database_serves_the_next_connection_then_lets_go(db):
    """keep_open_s: the next connection gets the same database instance (its cache is
    warm; seen here by a global setting it still has), and the file is let go once idle."""
    store = Store.open(Settings(keep_open_s=0.5), db)
    with store.connect() as con:
        con.execute("SET GLOBAL threads = 1")  # lives as long as the instance
    assert _held(f"{db}.hold")
    with store.connect() as con:
        assert _threads(con) == 1
    other_hold = FileLock(f"{db}.hold", thread_local=False)
    other_hold.acquire(timeout=10)  # let go after 0.5 s idle
    other_hold.release()
    with store.connect() as con:
        assert _threads(con) != 1  # a fresh instance


def test_a_queued_process_gets_a_kept_database_at_once(db):
    store = Store.open(Settings(keep_open_s=3600, lock_timeout_s=30), db)
    other_queue = FileLock(f"{db}.queue", thread_local=False)
    other_hold = FileLock(f"{db}.hold", thread_local=False)
    with store.connect() as con:
        con.execute("SET GLOBAL threads = 1")
    assert _held(f"{db}.hold")
    other_queue.acquire()
    other_hold.acquire(timeout=10)  # long before the hour is over
    opened = threading.Event()

    def newcomer() -> None:
        with store.connect() as con:
            assert _threads(con) != 1  # reopened after the other process's turn
        opened.set()

    late = threading.Thread(target=newcomer)
    late.start()
    other_queue.release()
    assert not opened.wait(0.3)  # waits while the other process has the file
    other_hold.release()
    late.join(timeout=30)
    assert opened.is_set()


def test_new_work_on_a_kept_database_lets_a_queued_process_in_first(db):
    """A connection asked for while the database is kept open and another process has
    just queued (before the keeper looked) closes it and queues behind that process."""
    store = Store.open(Settings(keep_open_s=3600, lock_timeout_s=30), db)
    other_queue = FileLock(f"{db}.queue", thread_local=False)
    other_hold = FileLock(f"{db}.hold", thread_local=False)
    order: list[str] = []
    with store.connect():
        pass
    other_queue.acquire()
    late = threading.Thread(target=lambda: store.stats() and order.append("newcomer"))
    late.start()
    other_hold.acquire(timeout=10)
    order.append("other process")
    other_queue.release()
    other_hold.release()
    late.join(timeout=30)
    assert order == ["other process", "newcomer"]


def test_compact_does_not_keep_the_swapped_out_file_open(db):
    """After compact the kept instance would read and write the replaced file: it is
    closed instead, and later writes reach the database file."""
    store = Store.open(Settings(keep_open_s=3600), db)
    store.set_meta("before", "1")
    store.compact()
    store.set_meta("after", "2")
    store.turns().let_go()
    assert not _held(f"{db}.hold")
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT key, value FROM meta WHERE key IN ('before', 'after')")
        assert sorted(rows.fetchall()) == [("after", "2"), ("before", "1")]
    finally:
        con.close()


def test_a_kept_sandboxed_database_is_not_lent_to_an_unsandboxed_store(db):
    """The app's store is sandboxed (no SET, no file access); a store of the same process
    without the sandbox (the CLI's, a test's) gets a database opened its own way."""
    app = Store.open(Settings(keep_open_s=3600), db, sandbox=())
    with app.connect() as con, pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET GLOBAL threads = 1")
    assert _held(f"{db}.hold")
    with Store.open(Settings(), db).connect() as con:
        con.execute("SET GLOBAL threads = 1")  # not the locked instance
