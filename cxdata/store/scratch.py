"""Private copies in the scratch folder, and how they are removed even after `kill -9`.

The scratch folder beside the database (`<db>.scratch/`) holds the app's uploads and the
UTF-8 copies of files in other encodings, because it is the only folder the app's
sandboxed DuckDB may read. Those copies hold raw data (in a pseudonymised store, the
original customer ids), so none may outlive its import.

- **Normal end, error, interruption.** `scratch_copy` is a context manager: the folder is
  removed when the block ends, however it ends (an exception, KeyboardInterrupt,
  SystemExit).
- **A killed process** runs no cleanup. Each copy folder `cxdata-…-XXXX/` has a lock file
  beside it, `cxdata-…-XXXX.lock`, held with an OS lock (`filelock`: `flock` on POSIX)
  for as long as the copy is in use. The OS drops the lock when its holder dies, however it
  dies. So a folder whose lock can be taken is a leftover, and one whose lock cannot be
  taken belongs to a live process (another app process, a `cxdata ingest` next to it, or
  another thread of this process: `flock` locks belong to an open file, so two threads
  with their own lock objects exclude each other too). `remove_leftovers` removes the
  folders whose lock it can take; `Store.open` (the app's start, every command that opens
  the store) and erasure call it.
- **No race between creating and sweeping.** A new folder exists for a moment before its
  lock is taken, and a lock file may be unlinked only while nobody can be about to take
  it. So one more lock, `<db>.scratch.lock` beside the folder (never removed), is held
  briefly while a folder is created and locked, while its owner unlinks its lock file, and
  while leftovers are swept. A sweep therefore never sees a folder that is not yet locked,
  and never unlinks a lock file someone holds or is about to take. The data itself is
  removed by its owner before that guard is taken, so a busy guard can delay only the
  removal of an empty folder and its lock file, which the next sweep finishes.

Folders of the prefix without a lock file (from a process killed between creating the
folder and locking it, or from a cxdata that had no locks) are leftovers too; so an
import still running in a cxdata from before the locks, next to a new one, may lose its
copy and fail (nothing is imported; run it again). Only names that start with `cxdata-`
are touched: nothing else in the folder is ours.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from cxdata.errors import CxError

PREFIX = "cxdata-"
"""Every copy folder (and its lock file) in the scratch folder starts with this."""
UPLOAD_PREFIX = "cxdata-upload-"
DECODED_PREFIX = "cxdata-decoded-"
_LOCK_SUFFIX = ".lock"
GUARD_WAIT_S = 30.0
"""Longest wait for the guard (held briefly at a time) when creating a copy."""
_CLEANUP_WAIT_S = 5.0
"""Longest wait for the guard when a copy ends; the data is gone by then either way."""
_SWEEP_WAIT_S = 5.0
"""Longest wait for the guard before a sweep gives up (the next one will do it)."""
_NAME_TRIES = 20


class ScratchBusyError(CxError):
    """The scratch folder's guard stayed taken (a process stopped while holding it)."""


def lock_path(folder: Path) -> Path:
    """The lock file of a copy folder: beside it, so no file name inside can clash."""
    return folder.with_name(folder.name + _LOCK_SUFFIX)


def _lock(path: Path) -> FileLock:
    # thread_local=False: the lock is the process's, whichever thread ends the copy.
    return FileLock(str(path), thread_local=False)


def guard_path(scratch: Path) -> Path:
    """The lock that keeps creating, ending and sweeping copies apart: beside the scratch
    folder (like `<db>.hold`), so an idle scratch folder is empty."""
    return scratch.with_name(scratch.name + _LOCK_SUFFIX)


def _guard(scratch: Path) -> FileLock:
    return _lock(guard_path(scratch))


@contextmanager
def scratch_copy(
    scratch: Path, prefix: str = UPLOAD_PREFIX, *, wait_s: float = GUARD_WAIT_S
) -> Iterator[Path]:
    """A new private folder in `scratch`, locked while the block runs and then removed.

    Put the copy in the folder; a `remove_leftovers` of any process leaves it alone until
    the block ends (or the process dies, after which the next one removes it)."""
    if not prefix.startswith(PREFIX):
        raise ValueError(f"a scratch copy's prefix starts with {PREFIX!r}")
    scratch.mkdir(exist_ok=True)
    folder, lock = _create(scratch, prefix, wait_s)
    try:
        yield folder
    finally:
        _remove_own(scratch, folder, lock)


def _create(scratch: Path, prefix: str, wait_s: float) -> tuple[Path, FileLock]:
    guard = _guard(scratch)
    try:
        guard.acquire(timeout=wait_s)
    except Timeout:
        raise ScratchBusyError(
            f"The scratch folder {scratch} stayed locked for over {wait_s:g} s "
            f"({guard_path(scratch)}); try again in a moment."
        ) from None
    try:
        for _ in range(_NAME_TRIES):
            folder = Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))
            lock = _lock(lock_path(folder))
            try:
                lock.acquire(timeout=0)
                return folder, lock
            except Timeout:
                # A fresh folder name whose lock file someone holds (a folder removed by
                # hand while in use, say): take another name.
                folder.rmdir()
            except BaseException:
                folder.rmdir()
                raise
    finally:
        guard.release()
    raise ScratchBusyError(f"Could not lock a new copy folder in {scratch}.")


def _remove_own(scratch: Path, folder: Path, lock: FileLock) -> None:
    """Remove the copy while it is still locked, then its empty folder and lock file."""
    try:
        for child in list(folder.iterdir()) if folder.is_dir() else []:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    except OSError:
        pass  # still locked, so still ours; the next sweep after we let go removes it
    guard = _guard(scratch)
    try:
        guard.acquire(timeout=_CLEANUP_WAIT_S)
    except Timeout:
        lock.release()  # an unlocked leftover: the next sweep removes it
        return
    try:
        shutil.rmtree(folder, ignore_errors=True)
        lock.release()
        lock_path(folder).unlink(missing_ok=True)
    finally:
        if lock.is_locked:
            lock.release()
        guard.release()


def remove_leftovers(scratch: Path) -> list[Path]:
    """Remove every copy folder in `scratch` that no live process holds (and lock files
    left without their folder); returns the folders removed. A copy in use is kept."""
    if not scratch.is_dir():
        return []
    guard = _guard(scratch)
    try:
        guard.acquire(timeout=_SWEEP_WAIT_S)
    except Timeout:
        return []  # someone holds the guard for long: leave it to the next sweep
    removed = []
    try:
        for entry in sorted(scratch.iterdir()):
            if not entry.name.startswith(PREFIX) or not entry.exists():
                continue  # not ours, or a lock file removed with its folder just now
            if entry.name.endswith(_LOCK_SUFFIX) and not entry.is_dir():
                if not entry.with_name(entry.name[: -len(_LOCK_SUFFIX)]).exists():
                    _take_and_unlink(entry)
            elif entry.is_dir() and not entry.is_symlink() and _take_and_remove(entry):
                removed.append(entry)
    finally:
        guard.release()
    return removed


def _take_and_remove(folder: Path) -> bool:
    """With the guard held: remove `folder` if its lock can be taken (no live holder)."""
    lock = _lock(lock_path(folder))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False  # a live process is using this copy
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        lock.release()
        lock_path(folder).unlink(missing_ok=True)
    return not folder.exists()


def _take_and_unlink(path: Path) -> None:
    """With the guard held: unlink a lock file without its folder unless it is held."""
    lock = _lock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return  # held: leave it to its holder
    lock.release()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
