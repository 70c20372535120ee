"""Team mode in the app (AppTest with a mocked st.user): the login screen, refusals, and for
every role which pages it can reach, what a forbidden page says when reached anyway, and
which actions each allowed page offers and performs."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings
from cxdata.personas.models import latest_model
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.conftest import ROOT, shown

TIMEOUT = 180
ROLES = ["viewer", "analyst", "researcher", "admin"]
ROLES_TOML = """
[roles]
"@example.org" = "viewer"
"analyst@example.org" = "analyst"
"researcher@example.org" = "researcher"
"admin@example.org" = "admin"
"""
# page -> (title, lowest role that may see it, download buttons it offers to those who may export)
PAGES = {
    "app_pages/overview.py": ("Data overview", "researcher", 3),
    "app_pages/upload.py": ("Upload observations", "researcher", 0),
    "app_pages/quality.py": ("Observation quality", "researcher", 4),
    "app_pages/framework.py": ("Journey framework", "researcher", 2),
    "app_pages/heatmaps.py": ("Journey heatmaps", "viewer", 11),
    "app_pages/priorities.py": ("Priorities: what to fix first", "viewer", 6),
    "app_pages/trends.py": ("Trends", "viewer", 3),
    "app_pages/personas.py": ("Personas", "analyst", 7),
    "app_pages/compare.py": ("Compare segments", "analyst", 3),
    "app_pages/admin.py": ("Administration", "admin", 0),
}


def may(role: str, page: str) -> bool:
    return ROLES.index(role) >= ROLES.index(PAGES[page][1])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The sample data with a persona model, built once and copied for each test."""
    path = tmp_path_factory.mktemp("roles") / "template.duckdb"
    store = Store.open(Settings(), path)
    load_sample(store)
    store.set_meta("sample_offered", "yes")
    discover(store, PersonaSettings(k=3, bootstraps=2))
    return path


@pytest.fixture
def team(tmp_path, monkeypatch, template):
    """Team mode on a private copy of the template store; returns the store's path."""
    db = tmp_path / "app.duckdb"
    shutil.copy(template, db)
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES_TOML)
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.setenv("CXDATA_TEAM_MODE", "1")
    monkeypatch.setenv("CXDATA_ROLES_FILE", str(roles))
    monkeypatch.chdir(ROOT)
    return db


AUTH: dict[str, str] = {}  # a complete [auth] section (see `auth_section`)


@pytest.fixture(scope="module", autouse=True)
def auth_section(discovery_url):
    """[auth] as st.login needs it; its provider's metadata is served on 127.0.0.1 (the login
    itself is tested against a real provider in test_oidc.py)."""
    AUTH.update(
        redirect_uri="http://localhost:8501/oauth2callback",
        cookie_secret="not-used-by-apptest",
        client_id="cxdata",
        client_secret="not-used-by-apptest",
        server_metadata_url=discovery_url,
    )


def _run(user: dict[str, object], script: str = "dashboard.py") -> AppTest:
    """A run as `user` (what st.user holds), with an [auth] section in the secrets."""
    at = AppTest.from_file(str(ROOT / script), default_timeout=TIMEOUT)
    at.user = user
    at.secrets = {"auth": dict(AUTH)}
    return at.run()


def _app(email: str | None, script: str = "dashboard.py") -> AppTest:
    """A run as the logged-in `email`, or not logged in (None)."""
    user = {"is_logged_in": True, "email": email} if email else {"is_logged_in": False}
    return _run(user, script)


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_team_mode_without_login_shows_only_the_login_screen(team):
    at = _app(None)
    assert not at.exception, at.exception
    assert _titles(at) == ["cxdata"]
    assert shown(at.info[0].value) == "Log in with your organisation account to see the dashboard."
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric and not at.dataframe and not at.multiselect  # no data, no filters
    for page in PAGES:  # no menu yet: asking for a page shows the login screen again
        at.switch_page(page).run()
        assert _titles(at) == ["cxdata"] and [b.label for b in at.button] == ["Log in"], page
        assert not at.metric and not at.dataframe


def test_team_mode_without_auth_secrets_says_what_to_configure(team):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": False}
    at.run()
    assert shown(at.error[0].value).startswith(
        "Team mode is on but no login is configured: add an "
    )
    assert "[auth] section to .streamlit/secrets.toml" in shown(at.error[0].value)
    assert not at.button


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"email": "someone@other.net"}, "someone@other.net has no role in this dashboard."),
        ({"email": "x@sub.example.org"}, "x@sub.example.org has no role in this dashboard."),
        ({}, "Your login did not include an e-mail address"),
        ({"email": "analyst@example.org", "email_verified": False}, "is not verified"),
    ],
)
def test_logged_in_users_without_a_role_are_refused(team, user, message):
    at = _run({"is_logged_in": True, **user})
    assert not at.exception, at.exception
    assert _titles(at) == ["cxdata"]
    assert message in shown(at.error[0].value)
    assert [b.label for b in at.button] == ["Log out"]
    assert not at.metric and not at.multiselect
    for page in PAGES:
        at.switch_page(page).run()
        assert _titles(at) == ["cxdata"] and message in shown(at.error[0].value), page
        assert not at.metric and not at.dataframe


def test_a_broken_roles_file_refuses_everyone_and_names_the_problem(team, tmp_path):
    (tmp_path / "roles.toml").write_text('[roles]\n"admin@example.org" = "boss"\n')
    at = _app("admin@example.org")
    assert "roles.\"admin@example.org\" = 'boss': the role is one of" in shown(at.error[0].value)
    assert _titles(at) == ["cxdata"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_pages_and_exports(team, role):
    at = _app(f"{role}@example.org")
    assert not at.exception, at.exception
    assert f"Logged in as {role}@example.org ({role})" in [
        shown(c.value) for c in at.sidebar.caption
    ]
    default = "Data overview" if role in ("researcher", "admin") else "Journey heatmaps"
    assert _titles(at) == [default]
    exports = role != "viewer"
    for page, (title, _, downloads) in PAGES.items():
        if not may(role, page):
            with pytest.raises(ValueError, match="not a registered page|not.*page"):
                at.switch_page(page)
            continue
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert _titles(at) == [title], page
        assert not at.error, (page, [shown(e.value) for e in at.error])
        assert len(at.download_button) == (downloads if exports else 0), page


FORBIDDEN = [(role, page) for role in ROLES for page in PAGES if not may(role, page)]


@pytest.mark.parametrize(("role", "page"), FORBIDDEN)
def test_a_forbidden_page_reached_directly_refuses(team, role, page):
    """The page's own check, for a request that bypasses the router's menu."""
    at = _app(f"{role}@example.org", page)
    assert not at.exception, at.exception
    assert [shown(e.value) for e in at.error] == [
        f"{role}@example.org ({role}) may not {_action(page)}: that needs the "
        f"{PAGES[page][1]} role or higher."
    ]
    assert not at.title and not at.metric and not at.button and not at.download_button


def _action(page: str) -> str:
    return {
        "app_pages/overview.py": "view overview",
        "app_pages/upload.py": "upload",
        "app_pages/quality.py": "view quality",
        "app_pages/framework.py": "import framework",
        "app_pages/personas.py": "view personas",
        "app_pages/compare.py": "compare",
        "app_pages/admin.py": "settings",
    }[page]


def test_a_page_reached_directly_without_login_refuses(team):
    at = AppTest.from_file(str(ROOT / "app_pages/heatmaps.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": False}
    at.run()
    assert [shown(e.value) for e in at.error] == ["You are not logged in."]
    assert not at.metric


def test_researcher_uploads_and_removes_a_batch(team):
    at = _app("researcher@example.org")
    at.switch_page("app_pages/upload.py").run()
    content = b"customer_id,stage,score\nK-1,Purchase,2\nK-2,Delivery,-1\n"
    at.file_uploader(key="upload_file").upload("team.csv", content, "text/csv").run()
    at.button(key="upload_import").click().run()
    assert not at.exception, at.exception
    assert any(shown(s.value).startswith("team.csv: imported as batch 5") for s in at.success)
    next(s for s in at.selectbox if s.label == "Remove a batch").set_value(5)
    at.checkbox(key="remove_batch_sure").check()
    next(b for b in at.button if b.label == "Remove batch").click().run()
    assert not at.exception, at.exception
    assert sorted(Store.open(Settings(), team).batches()["batch_id"]) == [1, 2, 3, 4]


def test_analyst_renames_a_persona(team):
    at = _app("analyst@example.org")
    at.switch_page("app_pages/personas.py").run()
    model = latest_model(Store.open(Settings(), team))
    assert model is not None
    at.text_input(key=f"persona_name_{model.model_id}_1").input("Weekend shoppers")
    at.button(key=f"persona_rename_{model.model_id}_1").click().run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value) == "Persona 1 is now called “Weekend shoppers”."
    renamed = latest_model(Store.open(Settings(), team))
    assert renamed is not None
    assert [p["name"] for p in renamed.profiles if p["persona"] == 1] == ["Weekend shoppers"]


def test_logging_out_returns_to_the_login_screen(team):
    at = _app("viewer@example.org")
    assert _titles(at) == ["Journey heatmaps"]
    at.sidebar.button(key="auth_logout").click().run()
    assert not at.exception, at.exception
    assert at.user.get("is_logged_in") is False
    assert _titles(at) == ["cxdata"] and [b.label for b in at.button] == ["Log in"]


def test_local_mode_needs_no_login_and_shows_the_admin_page(tmp_path, monkeypatch, template):
    db = tmp_path / "app.duckdb"
    shutil.copy(template, db)
    monkeypatch.setenv("CXDATA_DB", str(db))
    monkeypatch.delenv("CXDATA_TEAM_MODE", raising=False)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": False}  # ignored: local mode has no login
    at.run()
    assert _titles(at) == ["Data overview"]
    assert not any(c.value.startswith("Logged in as") for c in at.sidebar.caption)
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception, at.exception
    settings = at.dataframe[0].value.set_index("Setting")
    assert settings.at["team_mode", "Value"] == "False"
    assert settings.at["db_path", "Value"] == str(db)
    assert shown(at.info[0].value).startswith("Local mode: one user, no login, allowed everything.")
