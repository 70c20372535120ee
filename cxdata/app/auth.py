"""Who may do what: roles, the actions they allow, and the roles file of team mode.

Pure (no streamlit), so the same rules guard the pages, the acting helpers and the tests.
Local mode is one person at their own machine: a local admin. Team mode maps a logged-in
e-mail to a role through a TOML file; anyone not listed has no access at all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

from cxdata.errors import CxError


class Role(IntEnum):
    """Ordered: each role may do everything the ones below it may."""

    VIEWER = 1
    ANALYST = 2
    RESEARCHER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    """Everything the app guards: viewing a page or acting on the store or its data."""

    VIEW_HEATMAPS = "view_heatmaps"
    VIEW_PRIORITIES = "view_priorities"
    VIEW_PERSONAS = "view_personas"
    FIT_PERSONAS = "fit_personas"
    RENAME_PERSONA = "rename_persona"
    COMPARE = "compare"
    EXPORT = "export"
    VIEW_OVERVIEW = "view_overview"
    VIEW_QUALITY = "view_quality"
    UPLOAD = "upload"
    REMOVE_BATCH = "remove_batch"
    IMPORT_FRAMEWORK = "import_framework"
    SETTINGS = "settings"
    ERASE = "erase"


MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW_HEATMAPS: Role.VIEWER,
    Action.VIEW_PRIORITIES: Role.VIEWER,
    Action.VIEW_PERSONAS: Role.ANALYST,
    Action.FIT_PERSONAS: Role.ANALYST,
    Action.RENAME_PERSONA: Role.ANALYST,
    Action.COMPARE: Role.ANALYST,
    Action.EXPORT: Role.ANALYST,
    Action.VIEW_OVERVIEW: Role.RESEARCHER,
    Action.VIEW_QUALITY: Role.RESEARCHER,
    Action.UPLOAD: Role.RESEARCHER,
    Action.REMOVE_BATCH: Role.RESEARCHER,
    Action.IMPORT_FRAMEWORK: Role.RESEARCHER,
    Action.SETTINGS: Role.ADMIN,
    Action.ERASE: Role.ADMIN,
}


class PermissionDenied(CxError):
    """An action the principal's role does not allow; the message says who, what and why."""


class RolesFileError(CxError, ValueError):
    """The roles file cannot be used; the message names the file, the entry and the reason."""


@dataclass(frozen=True)
class Principal:
    """The person acting: their e-mail (None in local mode) and role."""

    email: str | None
    role: Role
    team_mode: bool = False

    @property
    def actor(self) -> str:
        """Who to record in an audit trail: the e-mail in team mode, "local" otherwise."""
        return self.email if self.team_mode and self.email else "local"

    def can(self, action: Action) -> bool:
        return self.role >= MINIMUM_ROLE[action]


LOCAL = Principal(email=None, role=Role.ADMIN, team_mode=False)


def require(principal: Principal, action: Action) -> None:
    """Raise PermissionDenied unless the principal's role allows the action."""
    if not principal.can(action):
        needed = MINIMUM_ROLE[action]
        raise PermissionDenied(
            f"{principal.actor} ({principal.role.label}) may not {action.value.replace('_', ' ')}: "
            f"that needs the {needed.label} role or higher."
        )


@dataclass(frozen=True)
class RoleRules:
    """Exact e-mails and whole domains (``@example.org``), both lower case."""

    emails: dict[str, Role]
    domains: dict[str, Role]

    def role_for(self, email: str) -> Role | None:
        """The e-mail's own entry wins over its domain's; None when neither is listed."""
        email = email.strip().lower()
        if email in self.emails:
            return self.emails[email]
        _, at, domain = email.rpartition("@")
        return self.domains.get("@" + domain) if at else None


def parse_roles(text: str, file: str) -> RoleRules:
    """Read a roles file: a ``[roles]`` table of ``"e-mail or @domain" = "role"``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RolesFileError(f"{file}: not valid TOML: {exc}") from exc
    table = doc.get("roles")
    if not isinstance(table, dict):
        raise RolesFileError(f'{file}: needs a [roles] table of "e-mail or @domain" = "role"')
    unknown = sorted(set(doc) - {"roles"})
    if unknown:
        raise RolesFileError(f"{file}: unknown table(s) {', '.join(unknown)}; only [roles]")
    names = {r.label: r for r in Role}
    emails: dict[str, Role] = {}
    domains: dict[str, Role] = {}
    for key, value in table.items():
        who = key.strip().lower()
        if not isinstance(value, str) or value.strip().lower() not in names:
            raise RolesFileError(
                f'{file}: roles."{key}" = {value!r}: the role is one of {", ".join(names)}'
            )
        local, at, domain = who.rpartition("@")
        if not at or not domain or "." not in domain or " " in who or "@" in local:
            raise RolesFileError(
                f'{file}: roles."{key}": not an e-mail address (name@example.org) or a '
                "domain (@example.org)"
            )
        (domains if not local else emails)[who] = names[value.strip().lower()]
    return RoleRules(emails, domains)


def load_roles(path: Path) -> RoleRules:
    """The roles file at `path`; a missing file is an error, not an empty list of users."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RolesFileError(
            f"{path}: the roles file does not exist; team mode needs it to know who may "
            "do what (see README, Team mode)"
        ) from exc
    return parse_roles(text, str(path))


def team_principal(email: str | None, rules: RoleRules, email_verified: object = None) -> Principal:
    """The principal for a logged-in user, or PermissionDenied saying why they have none."""
    if not email:
        raise PermissionDenied(
            "Your login did not include an e-mail address, so no role can be found for you."
        )
    if email_verified is False:
        raise PermissionDenied(
            f"{email}: the identity provider says this e-mail address is not verified."
        )
    role = rules.role_for(email)
    if role is None:
        raise PermissionDenied(
            f"{email} has no role in this dashboard. Ask an admin to add you (or your "
            "domain) to the roles file."
        )
    return Principal(email=email.strip().lower(), role=role, team_mode=True)
