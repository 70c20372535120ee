"""Who is acting in the app: local mode is one person (a local admin); team mode needs a
login (`st.login`) and a role from the roles file. Resolved again on every run, never
trusted from the session; pages start with `guard`."""

from __future__ import annotations

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


def _team_member(settings: Settings, user: dict[str, Any]) -> Principal:
    """Team mode's principal for `st.user` (read once per caller)."""
    if not user.get("is_logged_in"):
        raise PermissionDenied("You are not logged in.")
    email = user.get("email")
    return team_principal(
        email if isinstance(email, str) else None,
        role_rules(settings),
        user.get("email_verified"),
    )


def _auth_configured() -> bool:
    """Whether .streamlit/secrets.toml has the [auth] section st.login needs."""
    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def sign_in() -> Principal:
    """The router's gate. Local mode passes at once. Team mode shows the login screen to
    a visitor who is not logged in, and a refusal to one without a role; both stop the run."""
    settings = Settings.from_env()
    if not settings.team_mode:
        return LOCAL
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        st.title("cxdata")
        if not _auth_configured():
            st.error(
                "Team mode is on but no login is configured: add an [auth] section to "
                ".streamlit/secrets.toml (see README, Team mode)."
            )
            st.stop()
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
