"""Shared fixtures: a fresh store in a temp folder and a helper to write input files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Settings(lock_timeout_s=2.0), tmp_path / "db" / "cx.duckdb")


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text_or_bytes, encoding="utf-8") -> path of the new file."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


def table_checksum(store: Store) -> dict[str, object]:
    """Every table's full content hash: proof that a failed import changed nothing."""
    out = {}
    with store.connect() as con:
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY 1"
        ).fetchall():
            row = con.execute(
                f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{name}" t'
            ).fetchone()
            out[name] = row
    return out


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Path:
    """An empty database for the app (CXDATA_DB), run from the project root."""
    db = tmp_path / "app.duckdb"
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.chdir(ROOT)
    return db


def start_app(page: str | None = None, timeout: float = 120) -> AppTest:
    """The router run once (and switched to `page`), with no exception shown."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def shown(value: str) -> str:
    """What a user reads in a Markdown element: the source without its backslash escapes
    (values from files are escaped, `cxdata.app.text.md`)."""
    import re

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", value).replace("\u2060", "")
