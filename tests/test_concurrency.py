"""Eight app sessions import and read while `cxdata ingest` runs in a second process.

The sessions are Streamlit AppTests of the router, each in its own thread of this one
process, so they share the process's caches and DuckDB instance as browser sessions of one
`streamlit run` server do (tests/parallel_apptest.py makes AppTest's per-run globals
process-wide, as a server has them). Each imports through the Upload page (file uploader, Import
button) and reads the Journey heatmaps page. The load is bounded by a fixed number of
operations, not by time. What is checked is what a user would check: every accepted row is
stored exactly once, no page shows an error, and the CLI waits for its turn and succeeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.sample.load import load_sample
from cxdata.store import Store
from cxdata.store.turns import turns_for
from tests.conftest import ROOT, shown
from tests.parallel_apptest import parallel_apptests

SESSIONS = 8
ROUNDS = 2  # per session: upload + import, then the heatmaps page, this many times
SESSION_ROWS = 120
CLI_FILES = 2
CLI_ROWS = 20_000
STAGES = ("Awareness", "Consideration", "Purchase", "Delivery", "Usage", "Support")
IMPORTED = re.compile(r"imported as batch (\d+): ([\d,]+) observations")
ALREADY = re.compile(r"already imported as batch (\d+)")


def observations_csv(prefix: str, rows: int) -> bytes:
    """A long file with unique observation ids `prefix-i` and a loyalty tier per customer."""
    lines = ["observation_id,customer_id,stage,touchpoint,channel,score,loyalty_tier"]
    for i in range(rows):
        customer = f"{prefix}-C{i % 40}"
        tier = ("Basic", "Bronze", "Silver", "Gold")[i % 40 % 4]
        lines.append(f"{prefix}-{i},{customer},{STAGES[i % 6]},Desk,web,{i % 7 - 3},{tier}")
    return ("\n".join(lines) + "\n").encode()


STALE_MODEL = "is older than the data"
"""The heatmap's notice that imports arrived after the persona model was fitted: expected
here, where every session imports while the others read."""


def _texts(at: AppTest) -> list[str]:
    shown = [e.value for kind in ("error", "warning", "exception") for e in at.get(kind)]
    return [text for text in shown if STALE_MODEL not in str(text)]


class Session:
    """One user: imports files through the Upload page, reads the heatmaps page."""

    def __init__(self, number: int, shared: bytes) -> None:
        self.number, self.shared = number, shared
        self.imported: dict[int, int] = {}  # batch id -> observations the page reported
        self.already: list[int] = []
        self.heatmap_counts: list[int] = []
        self.shown_problems: list[str] = []

    def run(self, started: threading.Barrier) -> None:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.run()
        self._check(at)
        started.wait()
        for r in range(ROUNDS):
            name = "shared.csv" if r == 0 else f"s{self.number}r{r}.csv"
            own = observations_csv(f"S{self.number}R{r}", SESSION_ROWS)
            self._import(at, name, self.shared if r == 0 else own)
            at.switch_page("app_pages/heatmaps.py").run()
            self._check(at)
            observations = {m.label: m.value for m in at.metric}["Observations"]
            self.heatmap_counts.append(int(observations.replace(",", "")))
            assert at.get("vega_lite_chart"), "the heatmaps page shows no chart"

    def _import(self, at: AppTest, name: str, content: bytes) -> None:
        at.switch_page("app_pages/upload.py").run()
        at.file_uploader(key="upload_file").upload(name, content, "text/csv").run()
        self._check(at)
        if any(b.key == "upload_import" for b in at.button):
            at.button(key="upload_import").click().run()
            self._check(at)
        messages = [shown(s.value) for s in at.success] + [shown(i.value) for i in at.info]
        for text in messages:
            if m := IMPORTED.search(text):
                self.imported[int(m[1])] = int(m[2].replace(",", ""))
                return
            if m := ALREADY.search(text):
                self.already.append(int(m[1]))
                return
        errors = [shown(e.value) for e in at.error]
        raise AssertionError(f"session {self.number}: no import result for {name}: {errors}")

    def _check(self, at: AppTest) -> None:
        self.shown_problems += _texts(at)
        assert not at.exception, at.exception


def run_cli_ingest(
    db: Path, files: list[Path], lock_timeout_s: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`cxdata ingest` (its entry point) in a second process; it also prints how long it
    waited for its turn at most."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cxdata import cli; from cxdata.store.turns import turns_for; "
            "rc = cli.main(sys.argv[2:]); "
            "print(f'waited {turns_for(sys.argv[1]).waited_s:.2f}', file=sys.stderr); "
            "sys.exit(rc)",
            str(db),
            "ingest",
            "--db",
            str(db),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CXDATA_LOCK_TIMEOUT_S": str(lock_timeout_s)}
        if lock_timeout_s
        else None,
    )


@pytest.fixture
def sample_copy(tmp_path, monkeypatch):
    db = tmp_path / "app.duckdb"
    load_sample(Store.open(Settings(), db))
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    return db


def test_eight_sessions_and_the_cli_at_once(sample_copy, tmp_path):
    store = Store.open(Settings(), sample_copy)
    base = store.stats()["observations"]
    cli_files = []
    for i in range(CLI_FILES):
        path = tmp_path / f"cli{i}.csv"
        path.write_bytes(observations_csv(f"CLI{i}", CLI_ROWS))
        cli_files.append(path)
    shared = observations_csv("SHARED", SESSION_ROWS)
    sessions = [Session(n, shared) for n in range(SESSIONS)]
    started = threading.Barrier(SESSIONS + 1)
    failures: list[BaseException] = []

    def drive(session: Session) -> None:
        try:
            session.run(started)
        except BaseException as exc:  # reported after the join, with the session's number
            failures.append(exc)
            started.abort()

    threads = [threading.Thread(target=drive, args=(s,)) for s in sessions]
    t0 = time.monotonic()
    with parallel_apptests():
        for t in threads:
            t.start()
        try:  # every session has shown its first page: the app process holds the file
            started.wait(timeout=300)
        except threading.BrokenBarrierError:
            pass  # a session failed: no CLI run, the failure is reported below
        else:
            cli = run_cli_ingest(sample_copy, cli_files)
            cli_done = time.monotonic() - t0
        for t in threads:
            t.join(timeout=300)
    elapsed = time.monotonic() - t0
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    cli_batches = {int(m[1]): int(m[2].replace(",", "")) for m in IMPORTED.finditer(cli.stdout)}
    assert sorted(cli_batches.values()) == [CLI_ROWS] * CLI_FILES, cli.stdout

    # No page showed an error, a warning or an exception (a lock error would be one).
    assert [p for s in sessions for p in s.shown_problems] == []
    # The shared file was imported once; every other session was told so.
    app_batches = {b: n for s in sessions for b, n in s.imported.items()}
    shared_batches = [b for s in sessions for b in s.imported if b not in cli_batches]
    already = [b for s in sessions for b in s.already]
    assert len(app_batches) == SESSIONS * (ROUNDS - 1) + 1
    assert len(already) == SESSIONS - 1 and len(set(already)) == 1
    assert already[0] in shared_batches
    assert set(app_batches.values()) == {SESSION_ROWS}
    # Each session read its own imports back on the heatmaps page (the shared file counts:
    # it was in the store, imported by someone, before the page said "already imported").
    for s in sessions:
        assert len(s.heatmap_counts) == ROUNDS
        for r, count in enumerate(s.heatmap_counts):
            assert count >= base + SESSION_ROWS * (r + 1)

    # Stored rows: the sum of accepted rows, each exactly once, each batch complete.
    accepted = sum(app_batches.values()) + sum(cli_batches.values())
    after = Store.open(Settings(), sample_copy)
    counts = after.query_df(
        "SELECT count(*) AS n, count(observation_id) AS with_id, "
        "count(DISTINCT observation_id) AS ids FROM observations"
    ).iloc[0]
    assert counts.n == base + accepted
    assert counts.ids == counts.with_id  # no observation stored twice
    per_batch = after.query_df(
        "SELECT b.batch_id, b.rows, count(o.batch_id) AS stored FROM batches b "
        "LEFT JOIN observations o USING (batch_id) GROUP BY ALL"
    )
    assert (per_batch["rows"] == per_batch["stored"]).all()
    for batch_id, rows in {**app_batches, **cli_batches}.items():
        assert per_batch.set_index("batch_id").at[batch_id, "stored"] == rows
    waited = re.search(r"waited ([\d.]+)", cli.stderr)
    print(
        f"\n{SESSIONS} sessions x {ROUNDS} rounds + cxdata ingest of {CLI_FILES} x {CLI_ROWS:,} "
        f"rows: {elapsed:.1f} s (CLI done after {cli_done:.1f} s, waited at most "
        f"{waited[1] if waited else '?'} s for its turn; app connections waited at most "
        f"{turns_for(sample_copy).waited_s:.2f} s); {int(counts.n):,} rows checked, "
        f"{accepted:,} accepted in {len(app_batches) + len(cli_batches)} batches"
    )


def test_readers_that_never_pause_let_the_cli_in(tmp_path):
    """Four threads keep connections open back to back, so this process always has the
    file; a `cxdata ingest` with a 5 s limit still gets its turn, and the readers, who
    wait while it writes, then see its rows. Bounded: the readers stop when the CLI ends."""
    db = tmp_path / "cx.duckdb"
    store = Store.open(Settings(lock_timeout_s=30), db)
    path = tmp_path / "cli.csv"
    path.write_bytes(observations_csv("CLI", 5_000))
    seen: list[int] = []
    errors: list[BaseException] = []
    cli_done = threading.Event()

    def read() -> None:
        try:
            while not cli_done.is_set():
                with store.connect() as con:
                    row = con.execute("SELECT count(*) FROM observations").fetchone()
                    seen.append(int(row[0]) if row else -1)
                    time.sleep(0.05)  # hold the connection: the threads overlap
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for r in readers:
        r.start()
    try:
        cli = run_cli_ingest(db, [path], lock_timeout_s=5)
    finally:
        cli_done.set()
        for r in readers:
            r.join(timeout=60)
    assert errors == []
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "imported as batch 1: 5,000 observations" in cli.stdout
    assert store.stats()["observations"] == 5_000
    assert seen[0] == 0 and 5_000 in seen  # the readers read before and after the import
    waited = re.search(r"waited ([\d.]+)", cli.stderr)
    print(f"\nCLI waited at most {waited[1] if waited else '?'} s; {len(seen)} reads")
