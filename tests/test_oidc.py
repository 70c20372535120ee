"""Team mode against a real OpenID Connect provider, in a real browser.

`oidc-provider` (OpenID Certified, tests/oidc/provider.js) runs on localhost with one
confidential client (the app) and the users of tests/oidc/users.json; the app runs under
`streamlit run` in team mode with an [auth] section pointing at it; Debian's Chromium, driven
by Playwright, fills in the provider's login form. Nothing is mocked: Streamlit's own
st.login does the redirect, state, nonce, PKCE, token exchange and cookie. Screenshots of the
login flow go to screenshots/oidc/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest

from cxdata.config import Settings
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.conftest import ROOT, table_checksum

pytestmark = pytest.mark.oidc

NODE = shutil.which("node")
OIDC = ROOT / "tests" / "oidc"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "screenshots" / "oidc"
USERS = {u["email"]: u for u in json.loads((OIDC / "users.json").read_text())}
ROLES_TOML = """
[roles]
"@example.org" = "viewer"
"ana@partner.net" = "analyst"
"eve@example.org" = "analyst"
"rui@example.org" = "researcher"
"ada@cx-admin.com" = "admin"
"""
# Each role's user; each page: (url path, menu label, title, lowest role, download buttons).
ROLE_USERS = {
    "viewer": "vera@example.org",
    "analyst": "ana@partner.net",
    "researcher": "rui@example.org",
    "admin": "ada@cx-admin.com",
}
ROLES = list(ROLE_USERS)
PAGES = [
    ("overview", "Data overview", "Data overview", "researcher", 3),
    ("upload", "Upload", "Upload observations", "researcher", 0),
    ("quality", "Observation quality", "Observation quality", "researcher", 4),
    ("framework", "Journey framework", "Journey framework", "researcher", 2),
    ("heatmaps", "Journey heatmaps", "Journey heatmaps", "viewer", 11),
    ("priorities", "Priorities", "Priorities: what to fix first", "viewer", 6),
    ("trends", "Trends", "Trends", "viewer", 3),
    ("personas", "Personas", "Personas", "analyst", 7),
    ("compare", "Compare segments", "Compare segments", "analyst", 3),
    ("admin", "Administration", "Administration", "admin", 0),
]
TIMEOUT_MS = 120_000

if NODE is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must have Node.js for the OpenID Connect provider (see .ci/run)")
    pytest.skip(
        "needs Node.js (20 or newer) to run the OpenID Connect provider tests/oidc/provider.js",
        allow_module_level=True,
    )
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytest.skip("needs Debian's chromium: apt-get install -y chromium", allow_module_level=True)


def may(role: str, lowest: str) -> bool:
    return ROLES.index(role) >= ROLES.index(lowest)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _npm_ci() -> None:
    """Install the provider's packages from the lock file unless .ci/run already did."""
    installed = OIDC / "node_modules" / ".package-lock.json"
    lock = OIDC / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    assert npm, "Node.js is here but npm is not: install npm to run tests/oidc"
    subprocess.run(
        [npm, "ci", "--prefix", str(OIDC), "--no-audit", "--no-fund"],
        check=True,
        capture_output=True,
        timeout=600,
    )


@dataclass
class Provider:
    """The running provider: its issuer, its client, and the events it printed."""

    issuer: str
    metadata: str
    client_id: str
    client_secret: str
    events: list[dict[str, object]] = field(default_factory=list)

    def events_since(self, mark: int, name: str) -> list[dict[str, object]]:
        return [e for e in self.events[mark:] if e["event"] == name]


@pytest.fixture(scope="module")
def app_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def provider(app_port, tmp_path_factory) -> Iterator[Provider]:
    """oidc-provider on localhost (a site of its own, like a real identity provider), with
    the app at 127.0.0.1:app_port as its one confidential client."""
    _npm_ci()
    secret = secrets.token_urlsafe(24)
    errors = tmp_path_factory.mktemp("oidc_provider") / "stderr.log"
    with errors.open("w") as stderr:
        proc = subprocess.Popen(
            [
                str(NODE),
                str(OIDC / "provider.js"),
                "--port=0",
                f"--redirect-uri=http://127.0.0.1:{app_port}/oauth2callback",
                f"--client-secret={secret}",
                "--id-token-ttl=300",
                "--access-token-ttl=300",
                "--session-ttl=900",
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first, f"the OpenID Connect provider did not start:\n{errors.read_text()}"
        started = json.loads(first)
        running = Provider(started["issuer"], started["metadata"], "cxdata", secret)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                running.events.append(json.loads(line))

        threading.Thread(target=read, daemon=True).start()
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The sample data with a persona model, built once."""
    path = tmp_path_factory.mktemp("oidc") / "template.duckdb"
    store = Store.open(Settings(), path)
    load_sample(store)
    store.set_meta("sample_offered", "yes")
    discover(store, PersonaSettings(k=3, bootstraps=2))
    return path


@dataclass
class App:
    url: str
    db: Path
    roles: Path
    log: Path


def _auth_toml(app_port: int, provider: Provider | None, metadata: str | None = None) -> str:
    metadata = metadata or (provider.metadata if provider else "")
    return (
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        f'client_id = "{provider.client_id if provider else "cxdata"}"\n'
        f'client_secret = "{provider.client_secret if provider else "not-used"}"\n'
        f'server_metadata_url = "{metadata}"\n'
    )


def _start_app(folder: Path, port: int, secrets_toml: str, db: Path) -> Iterator[App]:
    """`streamlit run dashboard.py` in team mode from the checkout, its secrets file written
    to `folder` (--secrets.files), so nothing is left in the checkout."""
    (folder / ".streamlit").mkdir(parents=True, exist_ok=True)
    secrets_file = folder / ".streamlit" / "secrets.toml"
    secrets_file.write_text(secrets_toml)
    roles = folder / "roles.toml"
    roles.write_text(ROLES_TOML)
    log = folder / "streamlit.log"
    env = {
        **os.environ,
        "CXDATA_TEAM_MODE": "1",
        "CXDATA_ROLES_FILE": str(roles),
        "CXDATA_DB": str(db),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--secrets.files",
                str(secrets_file),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}") from None
                time.sleep(0.3)
        yield App(url, db, roles, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def app(tmp_path_factory, app_port, provider, template) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("team_app")
    db = folder / "app.duckdb"
    shutil.copy(template, db)
    yield from _start_app(folder, app_port, _auth_toml(app_port, provider), db)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def idle(page) -> None:
    """Wait until the app's script run has finished (Streamlit marks it on stApp) and the
    browser has drawn what it sent."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    page.wait_for_timeout(700)


def settle(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for()
    idle(page)


def heatmaps_shown(page) -> None:
    """Wait for the Journey heatmaps page with its data (the first page of a viewer)."""
    page.get_by_role("heading", name="Journey heatmaps", exact=True).wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    idle(page)


def open_login_form(page, app: App):
    """From the app's login screen to the provider's login form (the real redirect)."""
    page.goto(app.url)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/interaction/"))
    page.locator("#email").wait_for()


def fill_login_form(page, email: str, password: str | None = None) -> None:
    page.fill("#email", email)
    page.fill("#password", password if password is not None else USERS[email]["password"])
    page.get_by_role("button", name="Sign in").click()


def login(page, app: App, email: str, password: str | None = None) -> None:
    """Log in through the provider's form and wait until the app answers."""
    open_login_form(page, app)
    fill_login_form(page, email, password)
    page.wait_for_url(app.url + "**")
    page.locator('[data-testid="stAppViewContainer"]').wait_for()


def has_session(page) -> bool:
    return any(c["name"] == "_streamlit_user" for c in page.context.cookies())


def menu(page) -> list[str]:
    """The page names in the sidebar menu (without their icons)."""
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [t.strip().splitlines()[-1] for t in links]


def titles(page) -> list[str]:
    return [t.strip() for t in page.locator("h1").all_inner_texts()]


def data_shown(page) -> int:
    """Charts, tables, metrics and filters on the page: what a refused user must not see."""
    return page.locator(
        '[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"], '
        '[data-testid="stMetric"], [data-testid="stMultiSelect"], input[type="file"]'
    ).count()


def downloads(page) -> int:
    return page.locator('[data-testid="stDownloadButton"]').count()


def logged_since(app: App, offset: int, text: str, timeout: float = 60) -> None:
    """Wait until the app's server log, after `offset` characters, says `text`."""
    deadline = time.monotonic() + timeout
    while text not in app.log.read_text()[offset:]:
        assert time.monotonic() < deadline, f"the app's log never said {text!r}"
        time.sleep(0.25)


def checksums(app: App) -> dict[str, object]:
    return table_checksum(Store.open(Settings(lock_timeout_s=60), app.db))


def audit(app: App) -> list[dict[str, object]]:
    """`cxdata audit --json` on the app's store, as an admin would run it."""
    out = subprocess.run(
        [sys.executable, "-m", "cxdata.cli", "audit", "--json", "--db", str(app.db)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return json.loads(out.stdout)


def capture_callback(page, app: App, email: str) -> str:
    """Log in through the provider's form, but hold the provider's answer back from the app:
    the browser submits the form; its POST and the provider's redirects after it are done
    with the browser's own cookies (Playwright's route.fetch and context.request) until the
    redirect to the app's /oauth2callback, whose URL (code and state) is returned, unvisited."""
    open_login_form(page, app)
    held: dict[str, str] = {}

    def hold(route) -> None:
        answer = route.fetch(max_redirects=0)
        url = urljoin(route.request.url, answer.headers["location"])
        while not url.startswith(app.url):
            answer = page.context.request.get(url, max_redirects=0)
            assert answer.status in (302, 303), (url, answer.status, answer.text()[:300])
            url = urljoin(url, answer.headers["location"])
        held["url"] = url
        route.fulfill(status=200, content_type="text/html", body="<p>held back</p>")

    page.route(re.compile(r"/interaction/[^/]+/login$"), hold)
    fill_login_form(page, email)
    page.get_by_text("held back").wait_for()
    page.unroute_all()
    return held["url"]


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def refused(page, menu_kept: bool = False) -> str:
    """The text of the app's refusal screen, checked to show nothing but the refusal (in a
    session that had a menu, Streamlit keeps showing its links: `menu_kept`)."""
    page.locator('[data-testid="stAlert"]').first.wait_for()
    idle(page)
    assert titles(page) == ["cxdata"]
    assert menu_kept or menu(page) == []
    assert data_shown(page) == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    alert = page.locator('[data-testid="stAlert"]').first.inner_text()
    return alert.replace("\u2060", "").strip()  # as a reader copies it (md's word joiners)


# -- logging in, and what each role sees -------------------------------------------------------


def test_the_login_form_is_the_providers_and_a_wrong_password_gets_no_session(page, app):
    page.goto(app.url)
    page.get_by_role("button", name="Log in").wait_for()
    assert page.get_by_text("Log in with your organisation account").count() == 1
    assert data_shown(page) == 0
    shot(page, "01_app_login_screen")
    open_login_form(page, app)
    assert page.title() == "Sign in - cxdata test identity provider"
    assert page.get_by_role("heading").inner_text() == "Sign in to cxdata"
    shot(page, "02_provider_login_form")
    fill_login_form(page, "rui@example.org", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "Wrong e-mail address or password."
    assert page.url.startswith("http://localhost:")  # still at the provider
    shot(page, "03_provider_wrong_password")
    assert not has_session(page)
    page.goto(app.url)
    page.get_by_role("button", name="Log in").wait_for()
    assert data_shown(page) == 0


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_pages_and_actions(page, app, role):
    email = ROLE_USERS[role]
    login(page, app, email)
    mine = [p for p in PAGES if may(role, p[3])]
    settle(page, mine[0][2])
    shot(page, f"04_{role}_first_page")
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert f"Logged in as {email} ({role})" in sidebar
    assert menu(page) == [label for _, label, *_ in mine]
    assert titles(page) == [mine[0][2]]
    for path, label, title, _, n_downloads in mine:
        page.locator('[data-testid="stSidebarNav"] a', has_text=label).click()
        page.wait_for_url(app.url + ("" if path == mine[0][0] else path))
        page.get_by_role("heading", name=title, exact=True).wait_for()
        idle(page)
        assert titles(page) == [title], path
        assert page.locator('[data-testid="stException"]').count() == 0, path
        assert downloads(page) == (0 if role == "viewer" else n_downloads), path
        if path == "upload":
            assert page.locator('input[type="file"]').count() == 2  # observations, mapping
            assert page.get_by_text("Remove a batch").count() == 1
        if path == "personas":  # rename each of the 3 personas, or find new ones
            assert page.get_by_role("button", name="Rename").count() == 3
            assert page.get_by_text("Find personas again (a new model)").count() == 1
        shot(page, f"05_{role}_{path}")


FORBIDDEN = {role: [p for p in PAGES if not may(role, p[3])] for role in ROLES[:-1]}


@pytest.mark.parametrize("role", FORBIDDEN)
def test_a_forbidden_page_by_direct_url_is_refused(page, app, role):
    login(page, app, ROLE_USERS[role])
    page.locator("h1").first.wait_for()
    for path, _, title, *_ in FORBIDDEN[role]:
        page.goto(app.url + path)
        dialog = page.get_by_role("dialog")
        assert "The page that you have requested does not seem to exist." in dialog.inner_text()
        idle(page)
        shot(page, f"06_{role}_direct_url_{path}")
        assert page.url == app.url, path  # the role's own first page instead
        assert title not in titles(page), path
        assert page.locator('input[type="file"]').count() == 0, path
        assert f"({role})" in page.locator('[data-testid="stSidebar"]').inner_text()


# -- refusals ----------------------------------------------------------------------------------


def test_a_forbidden_import_is_refused_on_the_server(page, app):
    """Rui's Upload page is open, ready to import, when an admin demotes him to viewer in
    the roles file: his click on Import reaches the server, which imports nothing."""
    upload = app.db.parent / "demoted.csv"
    upload.write_text("customer_id,stage,score\nD-1,Purchase,3\nD-2,Delivery,-2\n")
    login(page, app, "rui@example.org")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Upload").click()
    settle(page, "Upload observations")
    page.locator('input[type="file"]').first.set_input_files(str(upload))
    settle(page, "2 observations are ready to import")
    before, trail = checksums(app), audit(app)
    original = app.roles.read_text()
    app.roles.write_text(original.replace('"rui@example.org" = "researcher"\n', ""))
    try:
        page.get_by_role("button", name="Import", exact=True).click()
        settle(page, "Logged in as rui@example.org (viewer)")
        shot(page, "07_demoted_researcher_clicked_import")
        assert menu(page) == ["Journey heatmaps", "Priorities", "Trends"]
        assert titles(page) == ["Journey heatmaps"]
        assert page.get_by_text("imported as batch").count() == 0
    finally:
        app.roles.write_text(original)
    assert checksums(app) == before
    assert audit(app) == trail


def test_a_forbidden_download_is_refused_on_the_server(page, app):
    """Ana's heatmaps are open with their download buttons when an admin removes her from
    the roles file: the file is made only when a button is clicked, and then refused."""
    login(page, app, "ana@partner.net")
    heatmaps_shown(page)
    csv = page.get_by_role("button", name="Data (CSV)").first
    with page.expect_download() as first:  # the same click while she may: a file
        csv.click()
    assert first.value.suggested_filename == "heatmap_stage_by_persona.csv"
    before = checksums(app)
    original = app.roles.read_text()
    app.roles.write_text(original.replace('"ana@partner.net" = "analyst"\n', ""))
    files: list[object] = []
    page.on("download", lambda d: files.append(d))
    offset = len(app.log.read_text())
    try:
        csv.click()  # refused by the export action's own check, on the server:
        logged_since(app, offset, "ana@partner.net has no role in this dashboard.")
        page.wait_for_timeout(1000)
        shot(page, "08_removed_analyst_clicked_download")
    finally:
        app.roles.write_text(original)
    assert files == []
    assert page.get_by_text("Failed to generate file for download").count() == 1
    assert checksums(app) == before


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("una@example.org", "una@example.org: the identity provider says this e-mail address "
         "is not verified."),
        ("mallory@other.net", "mallory@other.net has no role in this dashboard. Ask an admin "
         "to add you (or your domain) to the roles file."),
    ],
    ids=["unverified", "not_in_roles_file"],
)  # fmt: skip
def test_a_user_without_a_role_is_refused_and_sees_no_data(page, app, email, message):
    login(page, app, email)
    assert refused(page) == message
    assert page.get_by_role("button", name="Log out").count() == 1
    shot(page, f"09_refused_{email.split('@')[0]}")
    for path in ("", "heatmaps", "overview", "admin"):
        page.goto(app.url + path)
        assert refused(page) == message, path


# -- the end of a session ----------------------------------------------------------------------


def test_log_out_ends_the_session_and_back_shows_no_data(page, app, provider):
    login(page, app, "vera@example.org")
    heatmaps_shown(page)
    assert data_shown(page) > 0
    mark = len(provider.events)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/session/end"))  # the provider's own
    shot(page, "10_provider_sign_out")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(app.url)
    page.get_by_role("button", name="Log in").wait_for()
    shot(page, "11_logged_out")
    assert data_shown(page) == 0
    assert not has_session(page)
    assert provider.events_since(mark, "end_session.success")  # the provider's session too
    assert "_session" not in [c["name"] for c in page.context.cookies()]
    app_pages_seen = 0
    for step in range(3):  # back through the provider's sign-out page to the data page
        page.go_back()
        assert data_shown(page) == 0, page.url  # nothing kept from before (no cached page)
        if page.url.startswith(app.url):
            app_pages_seen += 1
            page.get_by_role("button", name="Log in").wait_for()
            idle(page)
        shot(page, f"12_back_{step}")
        assert data_shown(page) == 0, page.url
    assert app_pages_seen >= 2
    assert not has_session(page)


def test_an_expired_login_asks_for_login_again(page, app, provider):
    """Eve's ID token lasts 40 s (users.json). Streamlit's own cookie would last 30 days; the
    app reads the token's expiry from st.user and asks for a new login once it has passed,
    and a download button still on her screen makes no file any more."""
    mark = len(provider.events)
    login(page, app, "eve@example.org")
    heatmaps_shown(page)
    issued = float(str(provider.events_since(mark, "grant.success")[0]["at"]))
    expires = issued + USERS["eve@example.org"]["id_token_ttl"]
    page.reload()  # before it expires a reload shows the data
    heatmaps_shown(page)
    csv = page.get_by_role("button", name="Data (CSV)").first
    with page.expect_download():  # and the download buttons work
        csv.click()
    assert time.time() < expires, "too slow to check the login before it expired"
    assert data_shown(page) > 0
    time.sleep(max(0.0, expires - time.time()) + 1)
    files: list[object] = []
    page.on("download", lambda d: files.append(d))
    offset = len(app.log.read_text())
    csv.click()
    logged_since(app, offset, "PermissionDenied: Your login has expired. Log in again.")
    page.wait_for_timeout(1000)
    assert files == []
    assert page.get_by_text("Failed to generate file for download").count() == 1
    page.locator('[data-testid="stSidebarNav"] a', has_text="Priorities").click()
    assert re.fullmatch(
        r"Your login has expired\. Log in again\. \(It expired at \d\d:\d\d:\d\d UTC\.\)",
        refused(page, menu_kept=True),
    )
    assert page.get_by_role("button", name="Log in").count() == 1
    assert has_session(page)  # Streamlit's cookie is still there: the app refuses it
    shot(page, "13_login_expired")
    page.reload()
    assert refused(page).startswith("Your login has expired.")
    page.get_by_role("button", name="Log in").click()
    page.locator("#email").wait_for()  # the provider asks again
    fill_login_form(page, "eve@example.org")
    page.wait_for_url(app.url + "**")
    heatmaps_shown(page)
    assert data_shown(page) > 0


# -- the OAuth answer: state and code --------------------------------------------------------


def test_a_tampered_state_fails_and_no_session_results(page, app, provider):
    answer = capture_callback(page, app, "vera@example.org")
    state = parse_qs(urlsplit(answer).query)["state"][0]
    mark = len(provider.events)
    page.goto(with_query(answer, state=state[::-1]))
    page.get_by_role("button", name="Log in").wait_for()
    shot(page, "14_tampered_state")
    assert page.url == app.url and data_shown(page) == 0
    assert not has_session(page)
    assert provider.events_since(mark, "grant.success") == []  # the code was not even used
    page.goto(answer)  # the untouched answer does log in: the state made the difference
    heatmaps_shown(page)
    assert has_session(page)


def test_a_replayed_authorization_code_fails_and_no_session_results(browser, page, app, provider):
    """Someone who copied both the provider's answer (code and state) and the browser's
    cookie holding that state (and the PKCE verifier) replays them after the user logged in:
    the app asks the provider for tokens again, which refuses the used code."""
    answer = capture_callback(page, app, "vera@example.org")
    copied = [c for c in page.context.cookies() if c["name"] == "_streamlit_session"]
    assert copied
    page.goto(answer)
    heatmaps_shown(page)
    assert has_session(page)
    other = browser.new_context()
    other.add_cookies(copied)
    thief = other.new_page()
    mark = len(provider.events)
    try:
        thief.goto(answer)
        thief.get_by_role("button", name="Log in").wait_for()
        shot(thief, "15_replayed_code")
        assert thief.url == app.url and data_shown(thief) == 0
        assert not has_session(thief)
    finally:
        other.close()
    errors = provider.events_since(mark, "grant.error")
    assert [e["detail"] for e in errors] == ["authorization code already consumed"]
    assert provider.events_since(mark, "grant.success") == []


# -- the audit trail ---------------------------------------------------------------------------


def test_the_audit_trail_names_the_logged_in_email_as_the_importer(page, app, tmp_path):
    upload = tmp_path / "team_import.csv"
    upload.write_text("customer_id,stage,score\nT-1,Purchase,2\nT-2,Usage,-1\nT-3,Support,1\n")
    login(page, app, "rui@example.org")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Upload").click()
    settle(page, "Upload observations")
    page.locator('input[type="file"]').first.set_input_files(str(upload))
    settle(page, "3 observations are ready to import")
    page.get_by_role("button", name="Import", exact=True).click()
    settle(page, "team_import.csv: imported as batch")
    shot(page, "16_researcher_imported")
    newest = audit(app)[0]
    assert newest["action"] == "import"
    assert newest["details"]["file"] == "team_import.csv"
    assert newest["actor"] == "rui@example.org"


# -- fails closed --------------------------------------------------------------------------------


def _closed_port() -> int:
    return _free_port()  # nothing listens there once the probe socket is closed


MISCONFIGURED = {
    "missing": (
        None,
        "Team mode is on but no login is configured: add an [auth] section to "
        ".streamlit/secrets.toml (see README, Team mode).",
    ),
    "incomplete": (
        "client_secret",
        "Team mode is on but the login is not fully configured: [auth] in "
        ".streamlit/secrets.toml lacks client_secret (see README, Team deployment).",
    ),
    "unreachable": (
        "http://127.0.0.1:{port}/.well-known/openid-configuration",
        "Team mode is on but the login provider cannot be used: server_metadata_url = "
        "http://127.0.0.1:{port}/.well-known/openid-configuration in .streamlit/secrets.toml "
        "(URLError: <urlopen error [Errno 111] Connection refused>). Check that address and "
        "that this server can reach it (see README, Team deployment).",
    ),
}


@pytest.fixture(params=list(MISCONFIGURED))
def misconfigured(request, tmp_path, template) -> Iterator[tuple[App, str]]:
    """The app in team mode with its [auth] section missing, incomplete, or pointing at a
    provider that does not answer; yields the app and the message every page must show."""
    port, closed = _free_port(), _closed_port()
    change, message = MISCONFIGURED[request.param]
    if request.param == "missing":
        toml = "[other]\nkey = 1\n"
    elif request.param == "incomplete":
        toml = "\n".join(
            line for line in _auth_toml(port, None).splitlines() if not line.startswith(change)
        ).replace('server_metadata_url = ""', 'server_metadata_url = "http://127.0.0.1:1/"')
    else:
        toml = _auth_toml(port, None, metadata=str(change).format(port=closed))
    db = tmp_path / "app.duckdb"
    shutil.copy(template, db)
    for app in _start_app(tmp_path, port, toml, db):
        yield app, message.format(port=closed)


def test_team_mode_without_a_working_login_refuses_every_page(page, misconfigured, request):
    app, message = misconfigured
    before = checksums(app)
    for path in ("", *[p[0] for p in PAGES]):
        page.goto(app.url + path)
        assert refused(page) == message, path
        assert page.get_by_role("button").filter(has_text=re.compile("Log (in|out)")).count() == 0
        if path == "":
            shot(page, f"17_fails_closed_{request.node.callspec.id}")
    assert checksums(app) == before
