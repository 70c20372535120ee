"""Shared fixtures: a fresh store in a temp folder and a helper to write input files."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
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


@pytest.fixture(scope="session")
def discovery_url() -> Iterator[str]:
    """The address of an OpenID Connect discovery document served on 127.0.0.1, for AppTests
    of the login screen (which checks that the provider answers before offering a login)."""
    server = HTTPServer(("127.0.0.1", 0), _Discovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/openid-configuration"
    server.shutdown()
    server.server_close()


class _Discovery(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        issuer = f"http://127.0.0.1:{self.server.server_port}"
        body = json.dumps(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
            }
        ).encode()
        found = self.path == "/.well-known/openid-configuration"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body if found else b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass
