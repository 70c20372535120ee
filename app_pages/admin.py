"""Administration: the effective settings and, in team mode, who has which role (read-only)."""

import streamlit as st

from cxdata.app import data, signin
from cxdata.app.auth import MINIMUM_ROLE, Action, Role
from cxdata.app.text import md

principal = signin.guard(Action.SETTINGS)
store = data.store()
settings = store.settings

st.title("Administration")
st.caption(
    "Settings come from defaults and CXDATA_* environment variables (see README); they are "
    "read-only here. Change them where the app is started, then restart it."
)
st.dataframe(
    [
        {"Setting": name, "Value": str(getattr(settings, name)), "Meaning": meaning}
        for name, meaning in settings.help().items()
    ],
    hide_index=True,
)

st.subheader("Roles")
rights = [
    {"Role": role.label, "May": ", ".join(a.value for a, r in MINIMUM_ROLE.items() if role >= r)}
    for role in Role
]
st.dataframe(rights, hide_index=True)
if not settings.team_mode:
    st.info(
        "Local mode: one user, no login, allowed everything. Set CXDATA_TEAM_MODE=1 to "
        "require a login and assign roles in the roles file."
    )
else:
    rules = signin.role_rules()
    st.markdown(f"Roles file {md(settings.roles_file)} (an e-mail's own entry wins):")
    st.dataframe(
        [{"Who": who, "Role": role.label} for who, role in rules.emails.items()]
        + [{"Who": f"anyone {who}", "Role": role.label} for who, role in rules.domains.items()],
        hide_index=True,
    )
