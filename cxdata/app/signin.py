"""Who is acting in the app: local mode is one person (a local admin); team mode needs a
login (`st.login`) and a role from the roles file. Resolved again on every run, never
trusted from the session; pages start with `guard`."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from cxdata.app.auth import (
    LOCAL,
    Action,
    PermissionDenied,
    Principal,
    RoleRules,
    RolesFileError,
    load_roles,
    require,
    team_principal,
)
from cxdata.app.text import md
from cxdata.config import Settings


@st.cache_data(show_spinner=False, max_entries=4)
def _roles(path: str, modified_ns: int) -> RoleRules:
    """The roles file, read again whenever it changes (its mtime is part of the key)."""
    return load_roles(Path(path))


def role_rules(settings: Settings | None = None) -> RoleRules:
    """Team mode's roles file (RolesFileError when it is missing or wrong)."""
    path = (settings or Settings.from_env()).roles_file
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        return load_roles(path)  # raises RolesFileError naming the file
    return _roles(str(path), modified)


def principal() -> Principal:
    """The principal of this run: LOCAL in local mode; in team mode the logged-in user with
    their role, or PermissionDenied (not logged in, no e-mail, no role)."""
    settings = Settings.from_env()
    return _team_member(settings, st.user.to_dict()) if settings.team_mode else LOCAL


def principal_when_called() -> Callable[[], Principal]:
    """This run's principal, resolved again each time the result is called: for work done
    after the run, outside it (a download button's file is made when it is clicked), so a
    role taken away or a login expired meanwhile is refused then (PermissionDenied)."""
    settings = Settings.from_env()
    if not settings.team_mode:
        return lambda: LOCAL
    user = st.user.to_dict()
    return lambda: _team_member(settings, user, load_roles(settings.roles_file))


def _team_member(
    settings: Settings, user: dict[str, Any], rules: RoleRules | None = None
) -> Principal:
    """Team mode's principal for `st.user` (read once per caller)."""
    if not user.get("is_logged_in"):
        raise PermissionDenied("You are not logged in.")
    if _expired_at(user):
        raise PermissionDenied(_EXPIRED)
    email = user.get("email")
    return team_principal(
        email if isinstance(email, str) else None,
        rules if rules is not None else role_rules(settings),
        user.get("email_verified"),
    )


_EXPIRED = "Your login has expired. Log in again."


def _expired_at(user: dict[str, Any]) -> datetime | None:
    """When the login's ID token expired, or None while it is valid. Streamlit keeps its
    identity cookie for 30 days whatever the provider said, so the token's `exp` claim (which
    `st.user` holds) decides how long a login lasts."""
    exp = user.get("exp")
    if isinstance(exp, int | float) and exp <= time.time():
        return datetime.fromtimestamp(exp, UTC)
    return None


def _auth_configured() -> bool:
    """Whether .streamlit/secrets.toml has the [auth] section st.login needs."""
    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def _auth_problem(provider: str) -> str | None:
    """What keeps the login from working, or None: an [auth] section with every key st.login
    needs, whose provider publishes its OpenID Connect metadata. Team mode shows nothing else
    until this is fixed (it never falls back to local mode)."""
    if not _auth_configured():
        return (
            "Team mode is on but no login is configured: add an [auth] section to "
            ".streamlit/secrets.toml (see README, Team mode)."
        )
    auth = st.secrets["auth"].to_dict()
    section = auth.get(provider, {}) if provider else auth
    name = f"[auth.{provider}]" if provider else "[auth]"
    missing = [key for key in ("redirect_uri", "cookie_secret") if not auth.get(key)] + [
        key
        for key in ("client_id", "client_secret", "server_metadata_url")
        if not isinstance(section, dict) or not section.get(key)
    ]
    if missing:
        return (
            f"Team mode is on but the login is not fully configured: {name} in "
            f".streamlit/secrets.toml lacks {', '.join(missing)} (see README, Team deployment)."
        )
    return _provider_problem(str(section["server_metadata_url"]))


@st.cache_data(ttl=30, show_spinner=False)
def _provider_problem(url: str) -> str | None:
    """Why the provider's discovery document cannot be used, or None (asked again after 30 s)."""
    try:
        if not url.startswith(("https://", "http://")):
            raise ValueError("not an http(s) address")
        with urllib.request.urlopen(url, timeout=5) as response:
            metadata = json.loads(response.read(1_000_000))
        missing = [
            key
            for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not isinstance(metadata, dict) or key not in metadata
        ]
        reason = f"its answer lacks {', '.join(missing)}" if missing else ""
    except (OSError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    if not reason:
        return None
    return (
        f"Team mode is on but the login provider cannot be used: server_metadata_url = {url} "
        f"in .streamlit/secrets.toml ({reason}). Check that address and that this server can "
        "reach it (see README, Team deployment)."
    )


def sign_in() -> Principal:
    """The router's gate. Local mode passes at once. Team mode shows the login screen to
    a visitor who is not logged in, and a refusal to one without a role; both stop the run."""
    settings = Settings.from_env()
    if not settings.team_mode:
        return LOCAL
    user = st.user.to_dict()
    expired = _expired_at(user) if user.get("is_logged_in") else None
    if not user.get("is_logged_in") or expired:
        st.title("cxdata")
        problem = _auth_problem(settings.auth_provider)
        if problem:
            st.error(md(problem))
            st.stop()
        if expired:
            st.warning(f"{_EXPIRED} (It expired at {expired:%H:%M:%S} UTC.)")
        else:
            st.info("Log in with your organisation account to see the dashboard.")
        provider = settings.auth_provider or None
        st.button("Log in", type="primary", key="auth_login", on_click=st.login, args=(provider,))
        st.stop()
    try:
        who = _team_member(settings, user)
    except (PermissionDenied, RolesFileError) as exc:
        st.title("cxdata")
        st.error(md(exc))
        st.button("Log out", key="auth_logout", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(f"Logged in as {md(who.email)} ({who.role.label})")
        st.button("Log out", key="auth_logout", on_click=st.logout)
    return who


def guard(action: Action) -> Principal:
    """A page's first line: refuse (and stop) unless this run's principal may `action`, so a
    page reached without the router's menu refuses too."""
    try:
        who = principal()
        require(who, action)
    except (PermissionDenied, RolesFileError) as exc:
        st.error(md(exc))
        st.stop()
    return who
