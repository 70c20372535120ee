"""One Settings object: every knob with its default and a help line (listed in the README).

Parsed and validated by pydantic-settings. `Settings(...)` takes only what it is given (the
defaults otherwise); `Settings.from_env(**overrides)` reads the `CXDATA_*` environment
variables first. A value that cannot be read, is out of range, or a `CXDATA_*` name that is
no setting stops with one `SettingsError` that lists every such variable, its value and what
it accepts.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cxdata.errors import UsageError

DEFAULT_DB = Path("data") / "cxdata.duckdb"
DEFAULT_KEY = Path("~") / ".config" / "cxdata" / "pseudonym.key"
APP_KEEP_OPEN_S = 30.0
"""The app's `keep_open_s` unless CXDATA_KEEP_OPEN_S says otherwise."""

PREFIX = "CXDATA_"
DB_VARIABLE = "CXDATA_DB"
"""The database's variable: `CXDATA_DB`, not `CXDATA_DB_PATH`."""

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
FLAG_ACCEPTS = "true or false (also 1/0, yes/no, on/off)"


class SettingsError(UsageError):
    """Settings that cannot be used: each wrong variable with its value and what it accepts.
    Exit code 2, like any other usage error."""


def _flag(value: object) -> object:
    """Only the usual spellings of a boolean, in any case: a typo is refused, not False."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(FLAG_ACCEPTS)
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]


def _setting(default: Any, help: str, **constraints: Any) -> Any:
    return Field(default, description=help, **constraints)


class Settings(BaseSettings):
    """Settings with defaults; `from_env` applies `CXDATA_*` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_ignore_empty=True,  # an empty variable counts as unset
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_by_name=True,  # db_path by name; CXDATA_DB is its variable
    )

    db_path: Path = _setting(
        DEFAULT_DB, "DuckDB file of the store (CXDATA_DB, --db).", validation_alias=DB_VARIABLE
    )
    score_min: float = _setting(-3.0, "Lowest value of the graded interaction score scale.", lt=0)
    score_max: float = _setting(3.0, "Highest value of the graded interaction score scale.", gt=0)
    delight_threshold: float = _setting(
        0.2, "Net experience at or above which a cell is a delight.", gt=0, le=1
    )
    disappointment_threshold: float = _setting(
        -0.2, "Net experience at or below which a cell is a disappointment.", ge=-1, lt=0
    )
    min_customers: int = _setting(30, "Cells with fewer customers are marked low n.", ge=0)
    lock_timeout_s: float = _setting(
        30.0,
        'How long anyone waits for another process\'s turn at the database before "busy".',
        gt=0,
    )
    memory_limit_mb: int = _setting(
        4096,
        "DuckDB memory limit of the process (all its connections); beyond it DuckDB spills to a "
        "temp folder beside the database.",
        ge=1,
    )
    keep_open_s: float = _setting(
        0.0,
        "Seconds a process keeps the database open after its last connection, unless another "
        f"process waits for it: reads find DuckDB's cache warm (the app: {APP_KEEP_OPEN_S:g}).",
        ge=0,
    )
    max_problems_shown: int = _setting(
        50, "Problems printed per file by the CLI before a count.", ge=0
    )
    max_problems_kept: int = _setting(
        10_000, "Problems collected per file (the rest are counted).", ge=1
    )
    max_file_mb: float = _setting(
        2000.0,
        "Largest file an import reads, in MB; a bigger one is refused before reading (0: none).",
        ge=0,
    )
    max_unpacked_mb: float = _setting(
        500.0,
        "Most an .xlsx may unpack to, in MB; a bigger one (a zip bomb) is refused unopened.",
        ge=0,
    )
    load_sample_on_empty: Flag = _setting(
        True, "Load the sample data when the app starts on a store that never had data."
    )
    auto_personas: Flag = _setting(
        True,
        "Fit a persona model (automatic k, seed 0) when the app starts on data without one.",
    )
    team_mode: Flag = _setting(
        False, "Require an OIDC login and give each user the role the roles file assigns."
    )
    roles_file: Path = _setting(
        Path("roles.toml"), "TOML file of team mode: e-mail or @domain -> role."
    )
    auth_provider: str = _setting(
        "", "Named [auth.NAME] provider for the login; empty: the plain [auth] section."
    )
    pseudonymise: Flag = _setting(
        False, "Replace customer ids at import by a keyed HMAC pseudonym (see Privacy)."
    )
    pseudonym_key_file: Path = _setting(
        DEFAULT_KEY, "The pseudonymisation key; kept outside the database, back it up."
    )
    engine: Literal["duckdb", "spark"] = _setting(
        "duckdb",
        "Where analysis runs: the DuckDB store, or Spark over the Parquet lake (--engine).",
    )
    lake: str = _setting(
        "",
        "The Parquet lake `cxdata lake sync` writes and the Spark engine reads: a folder or any "
        "URL Spark reads (hdfs://, s3a://) (--lake).",
    )
    spark_master: str = _setting(
        "local[*]", "Spark master URL of the Spark engine, e.g. spark://host:7077 (--spark-master)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Construction reads no environment, no .env and no secrets: `from_env` does."""
        return (init_settings,)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then `CXDATA_<NAME>` variables, then explicit overrides (CLI flags; None
        is no override). Every wrong or unknown variable is listed in one `SettingsError`."""
        env: dict[str, Any] = EnvSettingsSource(cls)()
        variables = {_field_of(key): (variable(_field_of(key)), raw) for key, raw in env.items()}
        values = {_field_of(key): raw for key, raw in env.items()}
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        for name in given:  # a wrong override is the caller's, not the variable's
            variables.pop(name, None)
        return cls._checked(values, variables, _unknown_variables())

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` (like `dataclasses.replace`), validated like `from_env`."""
        return self._checked({**self.model_dump(), **changes}, {}, [])

    @classmethod
    def _checked(
        cls, values: dict[str, Any], variables: dict[str, tuple[str, str]], problems: list[str]
    ) -> Settings:
        """Settings of exactly `values`, or one SettingsError listing `problems` and every
        wrong value (named by its variable where it came from one)."""
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems = _problems(exc, variables) + problems
        if problems:
            raise SettingsError(_message(problems))
        return settings

    @staticmethod
    def help() -> dict[str, str]:
        """Setting name -> help line, for docs and the settings page."""
        return {name: f.description or "" for name, f in Settings.model_fields.items()}

    @staticmethod
    def accepts() -> dict[str, str]:
        """Setting name -> the values it accepts, as error messages and the README say it."""
        return {name: _accepts(name) for name in Settings.model_fields}


def variable(name: str) -> str:
    """The environment variable of setting `name` (`db_path` -> `CXDATA_DB`)."""
    return DB_VARIABLE if name == "db_path" else PREFIX + name.upper()


def _field_of(key: str) -> str:
    """Setting name of a key pydantic reports: the field name, or CXDATA_DB's alias."""
    return "db_path" if key.upper() == DB_VARIABLE else key


_KINDS: dict[object, str] = {int: "a whole number", float: "a number", Path: "a file path"}
_BOUNDS = (("gt", "above"), ("ge", "at least"), ("lt", "below"), ("le", "at most"))


def _accepts(name: str) -> str:
    """What a setting accepts, from its type and its pydantic bounds (so never out of date)."""
    field = Settings.model_fields[name]
    if field.annotation is bool:
        return FLAG_ACCEPTS
    if getattr(field.annotation, "__origin__", None) is Literal:
        return "one of " + ", ".join(str(v) for v in get_args(field.annotation))
    bounds = [
        f"{word} {getattr(rule, attr):g}"
        for rule in field.metadata
        for attr, word in _BOUNDS
        if getattr(rule, attr, None) is not None
    ]
    return " ".join([_KINDS.get(field.annotation, "any text"), " and ".join(bounds)]).strip()


def _problems(exc: ValidationError, variables: dict[str, tuple[str, str]]) -> list[str]:
    """One line per wrong setting: where it came from, its value, what it accepts."""
    lines = []
    for error in exc.errors(include_url=False):
        key = str(error["loc"][0]) if error["loc"] else ""
        name = _field_of(key)
        if name not in Settings.model_fields:
            lines.append(f"{key}={error['input']!r}: no such setting")
            continue
        where, value = variables.get(name, (f"setting {name}", error["input"]))
        lines.append(f"{where}={_short(value)!r}: {name} accepts {_accepts(name)}")
    return lines


def _unknown_variables() -> list[str]:
    """`CXDATA_*` variables that are no setting: a misspelt name is refused like a misspelt
    value, so that a typo never silently leaves a default in force."""
    known = {variable(name) for name in Settings.model_fields}
    # what follows the prefix, by variable and by setting name (DB_PATH -> CXDATA_DB)
    stems = {v.removeprefix(PREFIX): v for v in known}
    stems.update({name.upper(): variable(name) for name in Settings.model_fields})
    lines = []
    for key, value in sorted(os.environ.items()):
        upper = key.upper()
        if not upper.startswith(PREFIX) or upper in known or value == "":
            continue
        close = difflib.get_close_matches(upper.removeprefix(PREFIX), list(stems), n=1)
        hint = f"did you mean {stems[close[0]]}?" if close else "see Settings in the README"
        lines.append(f"{key}={_short(value)!r}: no such setting ({hint})")
    return lines


def _short(value: object, limit: int = 60) -> object:
    text = str(value)
    return value if len(text) <= limit else text[: limit - 1] + "…"


def _message(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"Cannot use {problems[0]}."
    return f"Cannot use {len(problems)} settings:\n" + "\n".join(f"- {p}" for p in problems)
