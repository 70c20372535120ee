"""Turns at the database file: threads of one process share it, processes take turns.

DuckDB lets one process at a time open a database file, and inside a process every
connection to the file shares one database instance. So a process holds the file while
any of its threads has a connection open. With eight app sessions reading, those
connections overlap and the app could hold the file for minutes on end, so a
`cxdata ingest` next to it would only ever see "busy". Two lock files beside the database
make the processes take turns instead:

- `<db>.hold` is held (an OS file lock, `filelock`) while this process has connections
  open; it is released as soon as the last one closes.
- `<db>.queue` is held by a process while it waits for `.hold`. A process that sees the
  queue taken lets its running connections finish, opens no new ones and lets the waiting
  process in, then queues behind it. So nobody waits longer than the work that was
  running (bounded by `lock_timeout_s`), never for a stream of new work.

Inside a process the first thread to take the turn opens the database once and every
connection is a cursor of it; the last one to finish closes it and lets go of the file,
or, with `keep_open_s` (the app), keeps it open that long for the next connection, which
then finds DuckDB's cache warm (a cold open re-reads every column it needs from the
file: +0.9 s on a 10M-row heatmap query). A keeper thread lets go at once when another
process queues, so it waits no longer than it would for running work.
(Opening and closing one file from many threads at once races inside DuckDB's instance
cache: "Unique file handle conflict".) Writers of a process take one write lock: DuckDB's
optimistic transactions would otherwise fail with "Conflict" errors when two sessions
write at once, and two uploads of the same file could both pass the "already imported"
check. OS file locks die with their process, so a killed import leaves nothing to clean up.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

Opener = Callable[[float], duckdb.DuckDBPyConnection]
"""Opens the database file (given the deadline); called once per turn."""

POLL_S = 0.01
"""How often a waiting process looks at a lock file (filelock polls)."""
KEEPER_POLL_S = 0.05
"""How often a process keeping an idle database open looks for a queued process."""


class TurnTimeout(TimeoutError):
    """The file was not ours within the deadline (the store turns this into a sentence)."""


class FileTurns:
    """This process's turns at one database file; get it with `turns_for(path)`."""

    def __init__(self, db_path: Path) -> None:
        self._hold = FileLock(f"{db_path}.hold", thread_local=False)
        self._queue = FileLock(f"{db_path}.queue", thread_local=False)
        self._state = threading.Condition()
        self._database: duckdb.DuckDBPyConnection | None = None  # open while we hold the file
        self._users = 0  # connections open in this process
        self._held = False  # this process holds `.hold`
        self._taking = False  # one thread is queueing for `.hold` on behalf of all
        self._yielding = False  # another process queues: open nothing new until we let go
        self._local = threading.local()  # per thread: connections it has open
        self._write = threading.RLock()
        self.waited_s = 0.0
        """Longest time one connection of this process waited for its turn (diagnostics)."""
        self.keep_open_s = 0.0
        """Seconds the database stays open after the last connection (none waiting)."""
        self._idle_since = 0.0
        self._keeper: threading.Thread | None = None
        self._reopen = False  # the file was swapped (compact): never keep this instance
        self._kind: object = None  # the configuration the database was opened with
        atexit.register(self.let_go)

    @contextmanager
    def connection(
        self, deadline: float, open_file: Opener, kind: object = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own (a cursor of this turn's database) for the block.
        `kind` names the configuration `open_file` opens with: a database kept open with
        another one (the app's sandbox, say) is closed first once idle."""
        started = time.monotonic()
        self._enter(deadline, open_file, kind)
        self.waited_s = max(self.waited_s, time.monotonic() - started)
        try:
            with self._state:
                assert self._database is not None
                con = self._database.cursor()
        except BaseException:
            self._leave(None)
            raise
        try:
            yield con
        finally:
            self._leave(con)

    @contextmanager
    def writing(self, deadline: float) -> Iterator[None]:
        """The process-wide write lock. Take it inside `connection` (one is already
        open), never the other way round: a thread waiting for its turn then never holds
        the write lock, so the two locks cannot deadlock."""
        if not self._write.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TurnTimeout("another write in this process did not finish in time")
        try:
            yield
        finally:
            self._write.release()

    def _enter(self, deadline: float, open_file: Opener, kind: object) -> None:
        depth = getattr(self._local, "depth", 0)
        with self._state:
            if depth:  # a nested connection of a thread that already has one never waits
                self._users += 1
                self._local.depth = depth + 1
                return
            while True:
                if self._held and not self._yielding:
                    if self._users == 0 and kind != self._kind:  # kept open, configured otherwise
                        self._close()
                        continue
                    if not self._other_process_queues():
                        self._users += 1
                        self._local.depth = 1
                        return
                    self._yielding = True
                    if self._users == 0:  # kept open, idle: let the queued process in
                        self._close()
                        continue
                elif not self._held and not self._taking:
                    self._taking = True
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TurnTimeout("another process kept the database")
                self._state.wait(remaining)
        try:
            self._take_turn(deadline)
            try:
                database = open_file(deadline)
            except BaseException:
                self._hold.release()
                raise
        except BaseException:
            with self._state:
                self._taking = False
                self._state.notify_all()
            raise
        with self._state:
            self._database, self._kind = database, kind
            self._taking, self._held, self._yielding = False, True, False
            self._users += 1
            self._local.depth = 1
            self._state.notify_all()

    def _take_turn(self, deadline: float) -> None:
        """Queue (so the holder lets go after its running work), then take the file."""
        try:
            self._queue.acquire(timeout=max(0.0, deadline - time.monotonic()), poll_interval=POLL_S)
        except Timeout:
            raise TurnTimeout("another process queued for the database") from None
        try:
            self._hold.acquire(timeout=max(0.0, deadline - time.monotonic()), poll_interval=POLL_S)
        except Timeout:
            raise TurnTimeout("another process kept the database") from None
        finally:
            self._queue.release()

    def _other_process_queues(self) -> bool:
        try:
            self._queue.acquire(blocking=False)
        except Timeout:
            return True
        self._queue.release()
        return False

    def _leave(self, con: duckdb.DuckDBPyConnection | None) -> None:
        with self._state:  # cursors are made and closed under the lock: not thread-safe
            try:
                if con is not None:
                    con.close()
            finally:
                self._users -= 1
                self._local.depth -= 1
                if self._users == 0:
                    if self.keep_open_s > 0 and not self._yielding and not self._reopen:
                        self._keep()
                    else:
                        self._close()

    def _close(self) -> None:
        """Close the database and let go of the file (under `_state`, no users)."""
        try:
            if self._database is not None:
                self._database.close()  # checkpoints, then DuckDB lets go
        finally:
            self._database = None
            self._hold.release()
            self._held = self._yielding = self._reopen = False
            self._state.notify_all()

    def _keep(self) -> None:
        """Keep the idle database open; the keeper thread closes it (under `_state`)."""
        self._idle_since = time.monotonic()
        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep_until_wanted, daemon=True)
            self._keeper.start()

    def _keep_until_wanted(self) -> None:
        """Close the idle database after `keep_open_s`, or at once when another process
        queues for the file; end when it is closed."""
        with self._state:
            while self._held:
                if self._users == 0 and (
                    time.monotonic() - self._idle_since >= self.keep_open_s
                    or self._other_process_queues()
                ):
                    self._close()
                    break
                self._state.wait(KEEPER_POLL_S)
            self._keeper = None

    def reopen_next_time(self) -> None:
        """The file was replaced under the open database (`Store.compact`): close it when
        its last connection ends, whatever `keep_open_s` says."""
        with self._state:
            self._reopen = True

    def let_go(self) -> None:
        """Close a database kept open while idle (at exit, or before the file is used by
        other means)."""
        with self._state:
            if self._held and self._users == 0:
                self._close()


_registry: dict[str, FileTurns] = {}
_registry_lock = threading.Lock()


def turns_for(db_path: Path, keep_open_s: float = 0.0) -> FileTurns:
    """The one FileTurns of this process for `db_path` (all Store objects share it); the
    longest `keep_open_s` any of them asked for applies."""
    key = os.path.realpath(db_path)
    with _registry_lock:
        turns = _registry.get(key)
        if turns is None:
            turns = _registry[key] = FileTurns(Path(key))
        turns.keep_open_s = max(turns.keep_open_s, keep_open_s)
        return turns
