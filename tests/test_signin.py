"""Team mode's sign-in screen in AppTest (st.user set by the test): an expired login, and an
[auth] section that is missing keys or whose provider does not answer. The same against a
real provider, in a real browser, is in test_oidc.py; these run without Node.js."""

from __future__ import annotations

import shutil
import socket
import time

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.conftest import ROOT, shown

TIMEOUT = 180


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("signin") / "template.duckdb"
    store = Store.open(Settings(), path)
    load_sample(store)
    store.set_meta("sample_offered", "yes")
    return path


@pytest.fixture
def team(tmp_path, monkeypatch, template):
    db = tmp_path / "app.duckdb"
    shutil.copy(template, db)
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\n"@example.org" = "viewer"\n"ana@example.org" = "analyst"\n')
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.setenv("CXDATA_TEAM_MODE", "1")
    monkeypatch.setenv("CXDATA_ROLES_FILE", str(roles))
    monkeypatch.chdir(ROOT)
    return roles


def _auth(metadata_url: str, **changes: str | None) -> dict[str, str]:
    auth = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-used-by-apptest",
        "client_id": "cxdata",
        "client_secret": "not-used-by-apptest",
        "server_metadata_url": metadata_url,
    }
    for key, value in changes.items():
        if value is None:
            del auth[key]
        else:
            auth[key] = value
    return auth


def _run(auth: dict[str, object], user: dict[str, object], page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.user = user
    at.secrets = {"auth": auth}
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_complete_auth_section_with_a_provider_that_answers_offers_the_login(team, discovery_url):
    at = _run(_auth(discovery_url), {"is_logged_in": False})
    assert [t.value for t in at.title] == ["cxdata"]
    assert not at.error
    assert [b.label for b in at.button] == ["Log in"]


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (["client_secret"], "client_secret"),
        (["cookie_secret", "server_metadata_url"], "cookie_secret, server_metadata_url"),
        (["redirect_uri", "client_id"], "redirect_uri, client_id"),
    ],
)
def test_an_incomplete_auth_section_names_what_is_missing(team, discovery_url, missing, named):
    auth = _auth(discovery_url, **dict.fromkeys(missing))
    for page in (None, "app_pages/heatmaps.py", "app_pages/admin.py"):
        at = _run(auth, {"is_logged_in": False}, page)
        assert [shown(e.value) for e in at.error] == [
            "Team mode is on but the login is not fully configured: [auth] in "
            f".streamlit/secrets.toml lacks {named} (see README, Team deployment)."
        ]
        assert [t.value for t in at.title] == ["cxdata"]
        assert not at.button and not at.metric and not at.dataframe


def test_a_named_provider_section_is_the_one_checked(team, discovery_url, monkeypatch):
    monkeypatch.setenv("CXDATA_AUTH_PROVIDER", "entra")
    auth = _auth(discovery_url)
    shared = {k: auth[k] for k in ("redirect_uri", "cookie_secret")}
    at = _run({**shared, "entra": {"client_id": "x"}}, {"is_logged_in": False})
    assert shown(at.error[0].value) == (
        "Team mode is on but the login is not fully configured: [auth.entra] in "
        ".streamlit/secrets.toml lacks client_secret, server_metadata_url (see README, Team "
        "deployment)."
    )
    at = _run({**shared, "entra": _auth(discovery_url)}, {"is_logged_in": False})
    assert not at.error and [b.label for b in at.button] == ["Log in"]


def test_a_provider_that_does_not_answer_is_named(team):
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    at = _run(_auth(url), {"is_logged_in": False})
    assert [shown(e.value) for e in at.error] == [
        f"Team mode is on but the login provider cannot be used: server_metadata_url = {url} "
        "in .streamlit/secrets.toml (URLError: <urlopen error [Errno 111] Connection refused>)"
        ". Check that address and that this server can reach it (see README, Team deployment)."
    ]
    assert not at.button and not at.metric


def test_an_answer_that_is_no_discovery_document_is_named(team, discovery_url):
    wrong = discovery_url.replace("/.well-known/openid-configuration", "/elsewhere")
    at = _run(_auth(wrong), {"is_logged_in": False})
    assert "HTTPError: HTTP Error 404: Not Found" in shown(at.error[0].value)
    not_http = _run(_auth("file:///etc/passwd"), {"is_logged_in": False})
    assert "(ValueError: not an http(s) address)" in shown(not_http.error[0].value)
    assert not not_http.button


def test_an_expired_login_asks_for_a_new_one(team, discovery_url):
    expired = {"is_logged_in": True, "email": "vera@example.org", "exp": int(time.time()) - 5}
    for page in (None, "app_pages/heatmaps.py"):
        at = _run(_auth(discovery_url), expired, page)
        assert [t.value for t in at.title] == ["cxdata"]
        assert shown(at.warning[0].value).startswith(
            "Your login has expired. Log in again. (It expired"
        )
        assert [b.label for b in at.button] == ["Log in"]
        assert not at.metric and not at.dataframe
    valid = {**expired, "exp": int(time.time()) + 300}
    at = _run(_auth(discovery_url), valid)
    assert [t.value for t in at.title] == ["Journey heatmaps"]


def test_a_page_run_directly_refuses_an_expired_login(team, discovery_url):
    at = AppTest.from_file(str(ROOT / "app_pages/heatmaps.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": "vera@example.org", "exp": time.time() - 1}
    at.secrets = {"auth": _auth(discovery_url)}
    at.run()
    assert [shown(e.value) for e in at.error] == ["Your login has expired. Log in again."]
    assert not at.metric
