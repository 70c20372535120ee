"""The store's data version without a DuckDB open on every rerun: it is queried again
only when the database file or its write-ahead log changed since it was last read (a
DuckDB open costs tens of ms; an `os.stat` microseconds)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from cxdata.store.database import Store

_FileState = tuple[tuple[int, int, int] | None, ...]
_versions: dict[Path, tuple[_FileState, str]] = {}
_versions_lock = threading.Lock()


def _file_state(db: Path) -> _FileState:
    """(inode, size, mtime_ns) of the database file and of its write-ahead log (None when
    absent): every commit, by this process or another, appends to the log or (at a
    checkpoint) rewrites the file, and reads change neither."""

    def state(path: Path) -> tuple[int, int, int] | None:
        try:
            st_ = path.stat()
        except FileNotFoundError:
            return None
        return (st_.st_ino, st_.st_size, st_.st_mtime_ns)

    return (state(db), state(db.with_name(db.name + ".wal")))


def data_version(s: Store) -> str:
    """`s.data_version()`, reused while the files are unchanged. The files are looked at
    before the query, so a commit racing with it is seen on the next call."""
    before = _file_state(s.path)
    with _versions_lock:
        known = _versions.get(s.path)
    if known is not None and known[0] == before:
        return known[1]
    version = s.data_version()
    with _versions_lock:
        _versions[s.path] = (before, version)
    return version
