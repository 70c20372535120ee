"""Imports killed with SIGKILL at random moments: the store always reopens, and every
batch is entirely present or entirely absent; importing the file again then succeeds.

Each import runs in its own process, forked from a helper process that has already
imported cxdata (starting Python and importing cxdata afresh takes seconds on a busy
machine; a fork takes milliseconds), and is killed at a seeded random moment between its
start and the time a complete import took. The number of kills is fixed,
so the test's duration is bounded by design.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.store import Store
from cxdata.store.schema import SCHEMA_VERSION

KILLS = 20  # kills that hit a running import process
MAX_ATTEMPTS = 40  # a kill can come after the process finished; bounded all the same
ROWS = 10_000
CUSTOMERS = 997
SEED = 20261122

FORKER = """
import os, signal, sys, time, traceback
from pathlib import Path
from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.store import Store

print("ready", flush=True)
for line in sys.stdin:
    db, path, delay = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:  # the import process: one file, one batch
        code = 0
        try:
            ingest_file(Store(Path(db), Settings(lock_timeout_s=30)), Path(path))
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    done, status = 0, 0
    if delay != "none":
        deadline = time.monotonic() + float(delay)
        while not done and time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            time.sleep(0.002)
        if not done:  # still running: our own child, not yet reaped, so the pid is its own
            os.kill(pid, signal.SIGKILL)
    if not done:
        status = os.waitpid(pid, 0)[1]
    print(status, flush=True)
"""


def observations_csv(path: Path, prefix: str) -> Path:
    """ROWS observations with unique ids and two customer attributes."""
    lines = ["observation_id,customer_id,stage,touchpoint,score,region,spend"]
    stages = ("Awareness", "Consideration", "Purchase", "Delivery", "Usage", "Support")
    for i in range(ROWS):
        c = i % CUSTOMERS
        lines.append(f"{prefix}-{i},{prefix}-C{c},{stages[i % 6]},Desk,{i % 7 - 3},R{c % 5},{c}.5")
    path.write_text("\n".join(lines) + "\n")
    return path


class Forker:
    """A Python process with cxdata imported that forks one import process per file."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def run(self, db: Path, path: Path, kill_after: float | None = None) -> int:
        """Import `path` in a new process, SIGKILLed after `kill_after` seconds unless it
        finished before; returns its wait status as soon as it has one."""
        assert self.proc.stdin is not None
        delay = "none" if kill_after is None else f"{kill_after:.4f}"
        self.proc.stdin.write(f"{db}\t{path}\t{delay}\n")
        self.proc.stdin.flush()
        return int(self._line())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def check_store(db: Path) -> dict[str, int]:
    """Reopen the store; every batch complete, nothing without a batch. Batch -> rows."""
    store = Store.open(Settings(lock_timeout_s=30), db)
    with store.connect() as con:  # one connection: opening the file is the slow part
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        per_batch = con.execute(
            "SELECT b.batch_id, b.source_name, b.rows, "
            "(SELECT count(*) FROM observations o WHERE o.batch_id = b.batch_id) AS stored, "
            "(SELECT count(*) FROM customer_attributes a WHERE a.batch_id = b.batch_id) AS attrs "
            "FROM batches b"
        ).df()
        orphans = con.execute(
            "SELECT (SELECT count(*) FROM observations WHERE batch_id NOT IN "
            "(SELECT batch_id FROM batches)) + (SELECT count(*) FROM customer_attributes "
            "WHERE batch_id NOT IN (SELECT batch_id FROM batches))"
        ).fetchone()
    assert version is not None and int(version[0]) == SCHEMA_VERSION
    assert (per_batch["rows"] == per_batch["stored"]).all(), per_batch
    assert (per_batch["attrs"] == 2 * CUSTOMERS).all(), per_batch  # region and spend
    assert orphans == (0,)
    assert per_batch["source_name"].is_unique
    return dict(zip(per_batch["source_name"], per_batch["rows"], strict=True))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="SIGKILL and fork are POSIX")
def test_imports_killed_at_random_moments(tmp_path):
    db = tmp_path / "crash.duckdb"
    Store.open(Settings(), db)
    rng = random.Random(SEED)
    forker = Forker()
    try:
        # A complete import first: how long one takes sets the range of kill moments.
        started = time.monotonic()
        assert forker.run(db, observations_csv(tmp_path / "full.csv", "FULL")) == 0
        full_s = time.monotonic() - started
        assert check_store(db) == {"full.csv": ROWS}

        landed = committed = 0
        files = []
        for k in range(MAX_ATTEMPTS):
            if landed == KILLS:
                break
            path = observations_csv(tmp_path / f"kill{k:02}.csv", f"K{k}")
            files.append(path)
            status = forker.run(db, path, kill_after=rng.uniform(0, full_s))
            assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0
            landed += os.WIFSIGNALED(status)
            batches = check_store(db)  # reopens after every kill
            assert batches.get(path.name, ROWS) == ROWS  # entirely present or entirely absent
            committed += path.name in batches
    finally:
        forker.close()

    # Importing every file again succeeds: the missing ones are added, the others are
    # recognised as already imported, and nothing is counted twice.
    kills_s = time.monotonic() - started
    store = Store.open(Settings(), db)
    with store.connect():  # held open: the imports share it instead of reopening the file
        results = [ingest_file(store, path) for path in files]
    reimport_s = time.monotonic() - started - kills_s
    assert sum(r.already_imported for r in results) == committed
    assert all(r.rows == ROWS for r in results if not r.already_imported)
    assert check_store(db) == {"full.csv": ROWS, **{p.name: ROWS for p in files}}
    assert store.stats()["observations"] == ROWS * (len(files) + 1)
    assert landed == KILLS
    print(
        f"\n{len(files)} SIGKILLs sent, {landed} to a running import ({committed} of all "
        f"after the commit); full import {full_s:.2f} s; store reopened and checked "
        f"{len(files)} times in {kills_s:.1f} s; re-import {reimport_s:.1f} s; "
        f"{ROWS * (len(files) + 1):,} rows checked at the end"
    )
