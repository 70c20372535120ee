"""Run Streamlit AppTests in parallel threads of one process, like sessions of one server.

AppTest is made for one run at a time: each run installs a fresh mock Runtime, patches the
config (`global.appTest`), compiles the scripts into a fresh ScriptCache, and undoes all
of it when the run ends, which breaks any run still going in another thread. A real
server has exactly one of each for all its sessions, so `parallel_apptests` installs one
of each for the whole block and makes AppTest's per-run set-up and tear-down no-ops.
The script runs themselves, session state, widgets and uploads stay AppTest's own.
Written against Streamlit 1.67's `streamlit.testing.v1.app_test`.

CPython 3.11.7's `ast.parse` is not thread-safe (CPython issue gh-106905): two threads
building AST objects at once can fail with "AST constructor recursion depth mismatch". The
shared script cache compiles each page once, under its lock, but Python-level callers
elsewhere, such as the traceback module formatting an error, still parse concurrently. A
fresh-clone CI run failed on it once, so `ast.parse` is serialised for the whole block.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest.mock import MagicMock

import streamlit.testing.v1.app_test as app_test
from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.runtime import Runtime
from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1.util import patch_config_options


class _KeepsInstance(type):
    def __setattr__(cls, name: str, value: Any) -> None:
        if name != "_instance":  # AppTest sets and clears it on every run
            super().__setattr__(name, value)


class _SharedRuntime(Runtime, metaclass=_KeepsInstance):
    """What AppTest sees as `Runtime`: assigning its `_instance` changes nothing."""


@contextmanager
def parallel_apptests() -> Iterator[None]:
    """One runtime (shared caches, like a server's), one config patch, one script cache."""
    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    runtime.bidi_component_registry = BidiComponentManager()
    scripts = ScriptCache()  # compiled once: CPython 3.11's parser is not thread-safe
    saved = (app_test.Runtime, app_test.patch_config_options, app_test.ScriptCache)
    saved_instance = Runtime._instance
    Runtime._instance = runtime
    app_test.Runtime = _SharedRuntime  # type: ignore[misc]
    app_test.patch_config_options = lambda _overrides: nullcontext()  # type: ignore[assignment]
    app_test.ScriptCache = lambda: scripts  # type: ignore[assignment,misc]
    parse, parsing = ast.parse, threading.Lock()

    def parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with parsing:
            return parse(*args, **kwargs)

    ast.parse = parse_one_at_a_time
    try:
        with patch_config_options({"global.appTest": True}):
            yield
    finally:
        ast.parse = parse
        app_test.Runtime, app_test.patch_config_options, app_test.ScriptCache = saved  # type: ignore[misc]
        Runtime._instance = saved_instance
