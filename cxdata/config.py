"""One Settings object: every knob with its default and a help line (listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("data") / "cxdata.duckdb"
DEFAULT_KEY = Path("~") / ".config" / "cxdata" / "pseudonym.key"
APP_KEEP_OPEN_S = 30.0
"""The app's `keep_open_s` unless CXDATA_KEEP_OPEN_S says otherwise."""


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Settings with defaults; `from_env` applies `CXDATA_*` environment variables."""

    db_path: Path = _setting(DEFAULT_DB, "DuckDB file of the store (CXDATA_DB, --db).")
    score_min: float = _setting(-3.0, "Lowest value of the graded interaction score scale.")
    score_max: float = _setting(3.0, "Highest value of the graded interaction score scale.")
    delight_threshold: float = _setting(
        0.2, "Net experience at or above which a cell is a delight."
    )
    disappointment_threshold: float = _setting(
        -0.2, "Net experience at or below which a cell is a disappointment."
    )
    min_customers: int = _setting(30, "Cells with fewer customers are marked low n.")
    lock_timeout_s: float = _setting(
        30.0, 'How long anyone waits for another process\'s turn at the database before "busy".'
    )
    memory_limit_mb: int = _setting(
        4096,
        "DuckDB memory limit of the process (all its connections); beyond it DuckDB spills to a "
        "temp folder beside the database.",
    )
    keep_open_s: float = _setting(
        0.0,
        "Seconds a process keeps the database open after its last connection, unless another "
        f"process waits for it: reads find DuckDB's cache warm (the app: {APP_KEEP_OPEN_S:g}).",
    )
    max_problems_shown: int = _setting(50, "Problems printed per file by the CLI before a count.")
    max_problems_kept: int = _setting(10_000, "Problems collected per file (the rest are counted).")
    max_file_mb: float = _setting(
        2000.0,
        "Largest file an import reads, in MB; a bigger one is refused before reading (0: none).",
    )
    max_unpacked_mb: float = _setting(
        500.0,
        "Most an .xlsx may unpack to, in MB; a bigger one (a zip bomb) is refused unopened.",
    )
    load_sample_on_empty: bool = _setting(
        True, "Load the sample data when the app starts on a store that never had data."
    )
    team_mode: bool = _setting(
        False, "Require an OIDC login and give each user the role the roles file assigns."
    )
    roles_file: Path = _setting(
        Path("roles.toml"), "TOML file of team mode: e-mail or @domain -> role."
    )
    auth_provider: str = _setting(
        "", "Named [auth.NAME] provider for the login; empty: the plain [auth] section."
    )
    pseudonymise: bool = _setting(
        False, "Replace customer ids at import by a keyed HMAC pseudonym (see Privacy)."
    )
    pseudonym_key_file: Path = _setting(
        DEFAULT_KEY, "The pseudonymisation key; kept outside the database, back it up."
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then `CXDATA_<NAME>` variables, then explicit overrides (CLI flags)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get("CXDATA_DB" if f.name == "db_path" else f"CXDATA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("db_path", "roles_file", "pseudonym_key_file"):
            if name in values:
                values[name] = Path(values[name])
        return replace(cls(), **values)

    @staticmethod
    def help() -> dict[str, str]:
        """Setting name -> help line, for docs and the settings page."""
        return {f.name: f.metadata["help"] for f in fields(Settings)}


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, Path):
        return Path(raw)
    return type(default)(raw)
