"""Copies in the scratch folder (uploads, decoded files) outlive nothing: not the import,
not a `kill -9` (the next start removes them), not an erasure; a live process's copy is
never removed by another process.

The processes here are real: an import runs in a child process that stops at a known
point of the import (it waits for a line on stdin there) while the parent looks at the
scratch folder, then SIGKILLs it or lets it go on. So every kill lands while the copy
exists, and the test checks that it did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from cxdata.config import Settings
from cxdata.ingest import IngestError, csv_reader, ingest_bytes, ingest_file
from cxdata.sample import DATA_FILES, SAMPLE_DIR
from cxdata.store import Store, StoreError
from cxdata.store.privacy import erase_customer
from cxdata.store.scratch import (
    DECODED_PREFIX,
    PREFIX,
    UPLOAD_PREFIX,
    remove_leftovers,
    scratch_copy,
)

RAW_ID = "RAW-ID-0451"
ROWS = 2_000
posix_only = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")


def upload_csv(raw_id: str = RAW_ID, rows: int = ROWS) -> str:
    lines = ["customer_id,stage,score,region"]
    lines += [f"{raw_id if i % 50 == 0 else f'C{i % 300}'},Purchase,{i % 7 - 3},R{i % 4}"
              for i in range(rows)]  # fmt: skip
    return "\n".join(lines) + "\n"


def copies(scratch: Path) -> list[str]:
    """The copy folders and lock files in the scratch folder (everything of ours)."""
    return sorted(p.name for p in scratch.iterdir()) if scratch.is_dir() else []


def holding(scratch: Path, needle: str, encodings: tuple[str, ...] = ("utf-8",)) -> list[Path]:
    """Every file under the scratch folder whose bytes contain `needle`."""
    if not scratch.is_dir():
        return []
    patterns = [needle.encode(e) for e in encodings]
    return [p for p in scratch.rglob("*") if p.is_file() and any(x in p.read_bytes()
                                                                  for x in patterns)]  # fmt: skip


def settings_for(tmp_path: Path, pseudonymise: bool = True) -> Settings:
    return Settings(
        lock_timeout_s=30,
        pseudonymise=pseudonymise,
        pseudonym_key_file=tmp_path / "keys" / "pseudonym.key",
    )


# -- in one process: the end of an import, however it ends ------------------------------


@pytest.mark.parametrize(
    "ending", ["imported", "refused", "KeyboardInterrupt", "SystemExit", "decoded"]
)
def test_the_copies_go_when_the_import_ends_however_it_ends(tmp_path, monkeypatch, ending):
    store = Store.open(settings_for(tmp_path, pseudonymise=False), tmp_path / "cx.duckdb")
    seen: list[list[Path]] = []

    def progress(_fraction: float, _message: str) -> None:
        seen.append(holding(store.scratch_dir, RAW_ID, ("utf-8", "utf-16-le")))
        if ending == "KeyboardInterrupt":
            raise KeyboardInterrupt
        if ending == "SystemExit":
            raise SystemExit(3)

    text = upload_csv()
    data = text.encode("utf-16-le") if ending == "decoded" else text.encode()
    if ending == "refused":
        data = (text + "C9,Purchase,not a score,R1\n").encode()
    if ending == "decoded":  # the UTF-8 copy of a UTF-16 file exists only while it is read
        read_csv = csv_reader._read_csv

        def reading(con, path, *args):
            seen.append(holding(store.scratch_dir, RAW_ID))  # UTF-8 bytes: the decoded copy
            return read_csv(con, path, *args)

        monkeypatch.setattr(csv_reader, "_read_csv", reading)
    if ending in ("imported", "decoded"):
        assert ingest_bytes(store, "up.csv", data, progress=progress).rows == ROWS
    else:
        expected = {"refused": IngestError, "KeyboardInterrupt": KeyboardInterrupt,
                    "SystemExit": SystemExit}[ending]  # fmt: skip
        with pytest.raises(expected):
            ingest_bytes(store, "up.csv", data, progress=progress)
    names = {p.parent.name.split("-")[1] for found in seen for p in found}
    assert "upload" in names  # the copy existed while the import ran
    if ending == "decoded":
        assert "decoded" in names
    assert copies(store.scratch_dir) == []  # and is gone, lock file and all
    assert store.stats()["batches"] == (1 if ending in ("imported", "decoded") else 0)


def test_a_copy_in_use_by_another_thread_is_not_a_leftover(tmp_path):
    """flock belongs to an open file: a sweep in the same process sees the lock too."""
    scratch = tmp_path / "cx.duckdb.scratch"
    inside, done = threading.Event(), threading.Event()
    found: list[Path] = []

    def use_a_copy() -> None:
        with scratch_copy(scratch, DECODED_PREFIX) as folder:
            (folder / "decoded.csv").write_text(RAW_ID)
            found.append(folder)
            inside.set()
            done.wait()

    user = threading.Thread(target=use_a_copy)
    user.start()
    try:
        assert inside.wait(30)
        assert remove_leftovers(scratch) == []
        Store.open(settings_for(tmp_path), tmp_path / "cx.duckdb")  # a start sweeps too
        assert (found[0] / "decoded.csv").read_text() == RAW_ID
    finally:
        done.set()
        user.join()
    assert copies(scratch) == []


def test_leftovers_without_a_lock_go_and_nothing_else_does(tmp_path):
    """What the code before locks left (tempfile folders), or a process killed between
    creating its folder and locking it; files that are not cxdata's stay."""
    scratch = tmp_path / "cx.duckdb.scratch"
    scratch.mkdir()
    for prefix in ("cxdata-upload-", "cxdata-"):
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))
        (folder / "survey.csv").write_text(upload_csv())
    (scratch / "cxdata-orphan-abc.lock").touch()  # a lock file whose folder went
    (scratch / "notes.txt").write_text(RAW_ID)
    assert len(holding(scratch, RAW_ID)) == 3
    Store.open(settings_for(tmp_path), tmp_path / "cx.duckdb")
    assert copies(scratch) == ["notes.txt"]


# -- across processes: kill -9, a live neighbour, erasure --------------------------------

CHILD = r"""
import sys
from pathlib import Path
from cxdata.config import Settings
from cxdata.ingest import csv_reader, load
from cxdata.store import Store

db, key_file, pseudonymise, block_at, upload = sys.argv[1:6]


def block():
    print("BLOCKED", flush=True)
    sys.stdin.readline()  # killed here, or let go on


if block_at == "before-open":  # the copy exists, the database is not open yet
    check_size = load.check_size

    def before_open(*args, **kwargs):
        block()
        return check_size(*args, **kwargs)

    load.check_size = before_open
if block_at == "decoding":  # the decoded copy exists and DuckDB reads it
    read_csv = csv_reader._read_csv

    def decoding(con, path, *args):
        if path.name == "decoded.csv":
            block()
        return read_csv(con, path, *args)

    csv_reader._read_csv = decoding


def progress(fraction, message):
    if block_at == "checking" and message.startswith("Checking"):
        block()  # the staged file is being checked: the database is open


settings = Settings(lock_timeout_s=30, pseudonymise=pseudonymise == "1",
                    pseudonym_key_file=Path(key_file))
path = Path(upload)
result = load.ingest_bytes(Store(Path(db), settings), path.name, path.read_bytes(),
                           progress=progress)
print("DONE", result.rows, flush=True)
"""


class BlockedImport:
    """`ingest_bytes` of one file in a child process, stopped at `block_at`."""

    def __init__(self, db: Path, settings: Settings, upload: Path, block_at: str) -> None:
        args = [str(db), str(settings.pseudonym_key_file), "1" if settings.pseudonymise else "0",
                block_at, str(upload)]  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "BLOCKED"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)  # our own child, not yet reaped
        assert self.proc.wait(timeout=60) == -signal.SIGKILL

    def go_on(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self._line()
        assert self.proc.wait(timeout=120) == 0
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def killed_leftover(tmp_path: Path, db: Path, settings: Settings, block_at: str,
                    data: bytes) -> list[str]:  # fmt: skip
    """Kill an upload import at `block_at`; the copies it left (checked to hold the id)."""
    upload = tmp_path / "in" / "survey.csv"
    upload.parent.mkdir(exist_ok=True)
    upload.write_bytes(data)
    scratch = db.with_name(db.name + ".scratch")
    child = BlockedImport(db, settings, upload, block_at)
    try:
        before = copies(scratch)
        raw = holding(scratch, RAW_ID, ("utf-8", "utf-16-le"))
        child.kill()
    finally:
        child.stop()
    assert any(n.startswith(UPLOAD_PREFIX) and not n.endswith(".lock") for n in before)
    assert any(p.parent.name.startswith(UPLOAD_PREFIX) for p in raw)  # the full raw upload
    assert copies(scratch) == before  # the kill ran no cleanup: these are leftovers now
    return before


@posix_only
@pytest.mark.parametrize("block_at", ["checking", "decoding"])
def test_no_copy_survives_a_kill_and_the_next_start(tmp_path, block_at):
    """The issue's case: a pseudonymised store, an upload killed mid-import."""
    db, settings = tmp_path / "cx.duckdb", settings_for(tmp_path)
    Store.open(settings, db)
    data = upload_csv().encode("utf-16" if block_at == "decoding" else "utf-8")
    left = killed_leftover(tmp_path, db, settings, block_at, data)
    scratch = db.with_name(db.name + ".scratch")
    if block_at == "decoding":
        assert any(n.startswith(DECODED_PREFIX) for n in left)
        assert any(p.name == "decoded.csv" for p in holding(scratch, RAW_ID))
        store = Store.open(settings, db)  # the next `cxdata` command
    else:  # the next app process: its sandboxed store (cxdata/app/data.py `_store`)
        store = Store.open(settings, db, sandbox=tuple(SAMPLE_DIR / n for n in DATA_FILES))
    assert copies(scratch) == []
    assert holding(scratch, RAW_ID, ("utf-8", "utf-16-le")) == []
    assert store.stats()["batches"] == 0
    # the same upload imports normally afterwards, and leaves nothing either
    assert ingest_bytes(store, "survey.csv", data).rows == ROWS
    assert copies(scratch) == []


@posix_only
def test_a_live_import_keeps_its_copy_while_another_process_starts(tmp_path):
    db, settings = tmp_path / "cx.duckdb", settings_for(tmp_path, pseudonymise=False)
    Store.open(settings, db)
    scratch = db.with_name(db.name + ".scratch")
    upload = tmp_path / "in" / "survey.csv"
    upload.parent.mkdir()
    upload.write_text(upload_csv())
    child = BlockedImport(db, settings, upload, "before-open")
    try:
        held = [p for p in holding(scratch, RAW_ID) if p.parent.name.startswith(UPLOAD_PREFIX)]
        assert len(held) == 1 and held[0].read_bytes() == upload.read_bytes()
        # another app process starts, then a `cxdata` command, then an explicit sweep
        Store.open(settings, db, sandbox=tuple(SAMPLE_DIR / n for n in DATA_FILES))
        Store.open(settings, db)
        assert remove_leftovers(scratch) == []
        assert held[0].read_bytes() == upload.read_bytes()
        assert child.go_on() == f"DONE {ROWS}"  # the import finished from its intact copy
    finally:
        child.stop()
    assert copies(scratch) == []
    assert Store.open(settings, db).stats()["observations"] == ROWS


@posix_only
def test_erasure_removes_a_leftover_holding_the_id(tmp_path, write):
    db, settings = tmp_path / "cx.duckdb", settings_for(tmp_path)
    store = Store.open(settings, db)
    ingest_file(store, write("first.csv", upload_csv(rows=200)))  # the customer is stored
    killed_leftover(tmp_path, db, settings, "checking", upload_csv().encode())
    scratch = store.scratch_dir
    assert holding(scratch, RAW_ID)
    erased = erase_customer(store, RAW_ID)  # no restart in between: erasure itself sweeps
    assert erased.observations == 4 and erased.leftovers == 1
    assert "leftover copies removed from the scratch folder: 1" in erased.message()
    assert holding(scratch, RAW_ID) == []
    assert copies(scratch) == []


def test_erasure_sweeps_even_when_only_a_leftover_holds_the_customer(tmp_path):
    """A killed import committed nothing, so the store may not know the customer at all."""
    store = Store.open(settings_for(tmp_path, pseudonymise=False), tmp_path / "cx.duckdb")
    store.scratch_dir.mkdir()
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=store.scratch_dir))
    (folder / "survey.csv").write_text(upload_csv())
    with pytest.raises(StoreError, match="no such customer"):
        erase_customer(store, RAW_ID)
    assert holding(store.scratch_dir, RAW_ID) == []
    assert [n for n in copies(store.scratch_dir) if n.startswith(PREFIX)] == []
