"""Roles without the app: the permission table, the roles file, and every guarded action
called directly with every role (allowed ones act, forbidden ones change nothing)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from cxdata.app import actions
from cxdata.app.auth import (
    LOCAL,
    Action,
    PermissionDenied,
    Principal,
    Role,
    RolesFileError,
    load_roles,
    parse_roles,
    require,
    team_principal,
)
from cxdata.personas.estimator import PersonaSettings
from cxdata.personas.models import latest_model
from tests.conftest import table_checksum

# The issue's wording, written out independently of cxdata.auth.MINIMUM_ROLE.
VIEWER = {"view_heatmaps", "view_priorities"}
ANALYST = VIEWER | {"view_personas", "fit_personas", "rename_persona", "compare", "export"}
RESEARCHER = ANALYST | {
    "view_overview",
    "view_quality",
    "upload",
    "remove_batch",
    "import_framework",
}
ADMIN = RESEARCHER | {"settings", "erase"}
EXPECTED = {Role.VIEWER: VIEWER, Role.ANALYST: ANALYST, Role.RESEARCHER: RESEARCHER,
            Role.ADMIN: ADMIN}  # fmt: skip

ROLES_TOML = """
[roles]
"@example.org" = "viewer"
"Ana@Example.org" = "analyst"
"rita@example.org" = "researcher"
"root@other.net" = "admin"
"""


def who(role: Role) -> Principal:
    return Principal(f"{role.label}@example.org", role, team_mode=True)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.label)
def test_each_role_may_do_exactly_what_the_issue_lists(role):
    allowed = {a.value for a in Action if who(role).can(a)}
    assert allowed == EXPECTED[role]
    for action in Action:
        if action.value in allowed:
            require(who(role), action)
        else:
            with pytest.raises(PermissionDenied, match=f"{role.label}@example.org"):
                require(who(role), action)


def test_refusal_says_who_what_and_which_role_is_needed():
    with pytest.raises(PermissionDenied) as exc:
        require(who(Role.ANALYST), Action.REMOVE_BATCH)
    assert str(exc.value) == (
        "analyst@example.org (analyst) may not remove batch: that needs the researcher role "
        "or higher."
    )


def test_local_mode_is_one_admin_recorded_as_local():
    assert LOCAL.role is Role.ADMIN and all(LOCAL.can(a) for a in Action)
    assert LOCAL.actor == "local"
    assert who(Role.VIEWER).actor == "viewer@example.org"


def test_roles_file_by_email_and_domain():
    rules = parse_roles(ROLES_TOML, "roles.toml")
    assert rules.role_for("ana@example.org") is Role.ANALYST  # own entry beats the domain
    assert rules.role_for("  ANA@example.ORG ") is Role.ANALYST  # e-mails are case-insensitive
    assert rules.role_for("rita@example.org") is Role.RESEARCHER
    assert rules.role_for("someone@example.org") is Role.VIEWER  # by domain
    assert rules.role_for("root@other.net") is Role.ADMIN
    assert rules.role_for("else@other.net") is None  # an e-mail entry is not a domain rule
    assert rules.role_for("x@sub.example.org") is None  # subdomains are not included
    assert rules.role_for("x@example.org.evil.com") is None
    assert rules.role_for("not-an-email") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[roles]\n"a@example.org" = "boss"\n',
         'roles.toml: roles."a@example.org" = \'boss\': the role is one of viewer, analyst, '
         "researcher, admin"),
        ('[roles]\n"example.org" = "viewer"\n',
         'roles.toml: roles."example.org": not an e-mail address (name@example.org) or a '
         "domain (@example.org)"),
        ('[roles]\n"a@localhost" = "viewer"\n', 'roles.toml: roles."a@localhost": not an e-mail'),
        ('[users]\n"a@example.org" = "viewer"\n', "roles.toml: needs a [roles] table"),
        ('[roles]\n"a@example.org" = "viewer"\n[extra]\n',
         "roles.toml: unknown table(s) extra; only [roles]"),
        ("[roles\n", "roles.toml: not valid TOML"),
    ],
)  # fmt: skip
def test_a_wrong_roles_file_names_the_entry_and_the_reason(text, message):
    with pytest.raises(RolesFileError) as exc:
        parse_roles(text, "roles.toml")
    assert str(exc.value).startswith(message)


def test_a_missing_roles_file_is_an_error_not_an_empty_team(tmp_path):
    with pytest.raises(RolesFileError, match="the roles file does not exist"):
        load_roles(tmp_path / "roles.toml")


def test_team_principal_refuses_unknown_unverified_and_anonymous_users():
    rules = parse_roles(ROLES_TOML, "roles.toml")
    assert team_principal("Ana@example.org", rules) == Principal(
        "ana@example.org", Role.ANALYST, team_mode=True
    )
    assert team_principal("x@example.org", rules, email_verified=True).role is Role.VIEWER
    with pytest.raises(PermissionDenied, match=r"^else@other.net has no role in this dashboard"):
        team_principal("else@other.net", rules)
    with pytest.raises(PermissionDenied, match="not verified"):
        team_principal("root@other.net", rules, email_verified=False)
    with pytest.raises(PermissionDenied, match="did not include an e-mail"):
        team_principal(None, rules)


# Every guarded action, called directly.

CSV = "customer_id,stage,score\nK-1,Purchase,2\nK-2,Delivery,-1\n"


def _customers_csv(n: int) -> str:
    """n customers x three stages, two clear groups (enough for a small persona model)."""
    lines = ["customer_id,stage,score,channel"]
    for i in range(n):
        good = i % 2
        for stage in ("Purchase", "Delivery", "Support"):
            lines.append(f"C{i},{stage},{2 if good else -2},{'web' if good else 'store'}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def filled(store):
    actions.import_upload(LOCAL, store, "customers.csv", _customers_csv(60).encode())
    return store


CHART = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x")
FRAMEWORK = '[[stages]]\nname = "Purchase"\n[[stages]]\nname = "Delivery"\n'

ACTS = {
    Action.UPLOAD: lambda p, s, tmp: actions.import_upload(p, s, "new.csv", CSV.encode()),
    Action.REMOVE_BATCH: lambda p, s, tmp: actions.remove_batch(p, s, 1),
    Action.IMPORT_FRAMEWORK: lambda p, s, tmp: actions.import_framework(p, s, tmp),
    Action.FIT_PERSONAS: lambda p, s, tmp: actions.fit_personas(
        p, s, PersonaSettings(k=2, k_range=(2, 3), bootstraps=2)
    ),
    Action.RENAME_PERSONA: lambda p, s, tmp: actions.rename_persona(p, s, 1, 1, "Fans"),
}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.label)
@pytest.mark.parametrize("action", list(ACTS), ids=lambda a: a.value)
def test_store_actions_act_only_for_roles_that_may(role, action, filled, tmp_path):
    framework = tmp_path / "framework.toml"
    framework.write_text(FRAMEWORK)
    if action is Action.RENAME_PERSONA:
        ACTS[Action.FIT_PERSONAS](LOCAL, filled, framework)
    before = table_checksum(filled)
    if action.value not in EXPECTED[role]:
        with pytest.raises(PermissionDenied, match=f"{role.label}@example.org"):
            ACTS[action](who(role), filled, framework)
        assert table_checksum(filled) == before
        return
    result = ACTS[action](who(role), filled, framework)
    assert table_checksum(filled) != before
    if action is Action.UPLOAD:
        assert result.batch_id == 2 and result.rows == 2
    elif action is Action.REMOVE_BATCH:
        assert result == 180 and filled.stats()["observations"] == 0
    elif action is Action.IMPORT_FRAMEWORK:
        assert result == 1
    else:
        model = latest_model(filled)
        assert model is not None and model.k == 2
        if action is Action.RENAME_PERSONA:
            assert [p["name"] for p in model.profiles if p["persona"] == 1] == ["Fans"]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.label)
def test_exports_and_upload_checks_only_for_roles_that_may(role, store):
    table = pd.DataFrame({"name": ["=cmd()", "ok"], "n": [1, 2]})
    exports = [
        lambda: actions.export_csv(who(role), table),
        lambda: actions.export_svg(who(role), CHART),
        lambda: actions.export_png(who(role), CHART),
    ]
    check = lambda: actions.check_upload(who(role), store, "new.csv", CSV.encode())  # noqa: E731
    if "export" in EXPECTED[role]:
        assert exports[0]() == b"name,n\r\n'=cmd(),1\r\nok,2\r\n"
        assert exports[1]().startswith(b"<svg")
        assert exports[2]().startswith(b"\x89PNG")
    else:
        for export in exports:
            with pytest.raises(PermissionDenied, match="may not export"):
                export()
    if "upload" in EXPECTED[role]:
        assert check().rows == 2 and store.stats()["observations"] == 0  # a dry run
    else:
        with pytest.raises(PermissionDenied, match="may not upload"):
            check()
