"""Settings: CXDATA_* variables parsed by pydantic-settings; typos in values or names are
refused with the variable, its value and what it accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cxdata.config import DEFAULT_DB, Settings, SettingsError
from cxdata.errors import CxError, UsageError

ROOT = Path(__file__).resolve().parent.parent
FLAG = "true or false (also 1/0, yes/no, on/off)"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No CXDATA_* variable from the calling shell leaks into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("CXDATA_"):
            monkeypatch.delenv(name)


def refused(monkeypatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("CXDATA_TEAM_MODE", "ture", FLAG),
        ("CXDATA_PSEUDONYMISE", "maybe", FLAG),
        ("CXDATA_LOAD_SAMPLE_ON_EMPTY", "nope", FLAG),
        ("CXDATA_MIN_CUSTOMERS", "thirty", "a whole number at least 0"),
        ("CXDATA_MEMORY_LIMIT_MB", "4GB", "a whole number at least 1"),
        ("CXDATA_LOCK_TIMEOUT_S", "30s", "a number above 0"),
    ],
)
def test_a_misspelt_value_names_the_variable_the_value_and_what_it_accepts(
    monkeypatch, name, value, accepts
):
    message = refused(monkeypatch, **{name: value})
    assert f"{name}={value!r}" in message
    assert accepts in message


def test_the_exact_message_for_a_misspelt_team_mode(monkeypatch):
    assert refused(monkeypatch, CXDATA_TEAM_MODE="ture") == (
        f"Cannot use CXDATA_TEAM_MODE='ture': team_mode accepts {FLAG}."
    )


def test_every_wrong_variable_is_listed_at_once(monkeypatch):
    message = refused(
        monkeypatch,
        CXDATA_TEAM_MODE="ture",
        CXDATA_PSEUDONYMISE="maybe",
        CXDATA_MIN_CUSTOMERS="thirty",
        CXDATA_TEAMMODE="1",
    )
    lines = message.splitlines()
    assert lines[0] == "Cannot use 4 settings:"
    assert [line.split("=")[0] for line in lines[1:]] == [
        "- CXDATA_MIN_CUSTOMERS",
        "- CXDATA_TEAM_MODE",
        "- CXDATA_PSEUDONYMISE",
        "- CXDATA_TEAMMODE",
    ]


def test_the_error_is_a_usage_error_with_exit_code_2(monkeypatch):
    monkeypatch.setenv("CXDATA_TEAM_MODE", "ture")
    with pytest.raises(CxError) as info:
        Settings.from_env()
    assert isinstance(info.value, SettingsError) and isinstance(info.value, UsageError)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("CXDATA_TEAMMODE", "did you mean CXDATA_TEAM_MODE?"),
        ("CXDATA_DB_PATH", "did you mean CXDATA_DB?"),
        ("CXDATA_PSEUDONYMIZE", "did you mean CXDATA_PSEUDONYMISE?"),
        ("CXDATA_COLOUR", "see Settings in the README"),
    ],
)
def test_a_misspelt_name_is_refused_not_ignored(monkeypatch, name, hint):
    message = refused(monkeypatch, **{name: "1"})
    assert message == f"Cannot use {name}='1': no such setting ({hint})."


def test_an_empty_variable_counts_as_unset(monkeypatch):
    for name in ("CXDATA_TEAM_MODE", "CXDATA_MIN_CUSTOMERS", "CXDATA_DB", "CXDATA_NO_SUCH"):
        monkeypatch.setenv(name, "")
    assert Settings.from_env() == Settings()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(word, True) for word in ("true", "TRUE", "True", "1", "yes", "Yes", "on", " ON ")],
        *[(word, False) for word in ("false", "FALSE", "0", "no", "NO", "off", "Off ")],
    ],
)
def test_the_usual_boolean_spellings_parse(monkeypatch, raw, expected):
    for name in ("CXDATA_TEAM_MODE", "CXDATA_PSEUDONYMISE", "CXDATA_LOAD_SAMPLE_ON_EMPTY"):
        monkeypatch.setenv(name, raw)
    settings = Settings.from_env()
    assert settings.team_mode is expected
    assert settings.pseudonymise is expected
    assert settings.load_sample_on_empty is expected


@pytest.mark.parametrize("raw", ["t", "y", "n", "f", "2", "-1", "enabled", "tru e"])
def test_other_boolean_spellings_are_refused(monkeypatch, raw):
    assert FLAG in refused(monkeypatch, CXDATA_TEAM_MODE=raw)


def test_numbers_text_and_paths_parse(monkeypatch, tmp_path):
    monkeypatch.setenv("CXDATA_DB", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("CXDATA_MIN_CUSTOMERS", "12")
    monkeypatch.setenv("CXDATA_LOCK_TIMEOUT_S", "2.5")
    monkeypatch.setenv("CXDATA_DELIGHT_THRESHOLD", "0.35")
    monkeypatch.setenv("CXDATA_SCORE_MIN", "-5")
    monkeypatch.setenv("CXDATA_ROLES_FILE", "team/roles.toml")
    monkeypatch.setenv("CXDATA_AUTH_PROVIDER", "microsoft")
    settings = Settings.from_env()
    assert settings.db_path == tmp_path / "env.duckdb"
    assert settings.min_customers == 12 and isinstance(settings.min_customers, int)
    assert settings.lock_timeout_s == 2.5
    assert settings.delight_threshold == 0.35
    assert settings.score_min == -5.0
    assert settings.roles_file == Path("team/roles.toml")
    assert settings.auth_provider == "microsoft"
    assert settings.score_max == 3.0  # untouched: the default


@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("CXDATA_SCORE_MIN", "1", "a number below 0"),
        ("CXDATA_SCORE_MAX", "-3", "a number above 0"),
        ("CXDATA_DELIGHT_THRESHOLD", "20", "a number above 0 and at most 1"),
        ("CXDATA_DELIGHT_THRESHOLD", "0", "a number above 0 and at most 1"),
        ("CXDATA_DISAPPOINTMENT_THRESHOLD", "0.2", "a number at least -1 and below 0"),
        ("CXDATA_MIN_CUSTOMERS", "-1", "a whole number at least 0"),
        ("CXDATA_LOCK_TIMEOUT_S", "0", "a number above 0"),
        ("CXDATA_LOCK_TIMEOUT_S", "inf", "a number above 0"),
        ("CXDATA_KEEP_OPEN_S", "nan", "a number at least 0"),
        ("CXDATA_MEMORY_LIMIT_MB", "0", "a whole number at least 1"),
        ("CXDATA_MAX_PROBLEMS_KEPT", "0", "a whole number at least 1"),
        ("CXDATA_MAX_PROBLEMS_SHOWN", "-5", "a whole number at least 0"),
        ("CXDATA_MAX_FILE_MB", "-1", "a number at least 0"),
        ("CXDATA_MAX_UNPACKED_MB", "-1", "a number at least 0"),
    ],
)
def test_values_out_of_range_are_refused(monkeypatch, name, value, accepts):
    message = refused(monkeypatch, **{name: value})
    assert f"{name}={value!r}" in message and accepts in message


def test_zero_means_none_where_the_help_says_so(monkeypatch):
    monkeypatch.setenv("CXDATA_MAX_FILE_MB", "0")
    monkeypatch.setenv("CXDATA_MAX_UNPACKED_MB", "0")
    monkeypatch.setenv("CXDATA_KEEP_OPEN_S", "0")
    monkeypatch.setenv("CXDATA_MIN_CUSTOMERS", "0")
    settings = Settings.from_env()
    assert (settings.max_file_mb, settings.max_unpacked_mb) == (0, 0)


def test_overrides_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CXDATA_DB", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("CXDATA_KEEP_OPEN_S", "5")
    settings = Settings.from_env(db_path=tmp_path / "flag.duckdb", keep_open_s=None)
    assert settings.db_path == tmp_path / "flag.duckdb"
    assert settings.keep_open_s == 5.0  # None is no override
    assert Settings.from_env(db_path=None).db_path == tmp_path / "env.duckdb"


def test_a_wrong_override_is_named_as_the_setting_not_the_variable(monkeypatch):
    monkeypatch.setenv("CXDATA_KEEP_OPEN_S", "5")
    with pytest.raises(SettingsError) as info:
        Settings.from_env(keep_open_s=-1)
    assert (
        str(info.value)
        == "Cannot use setting keep_open_s=-1: keep_open_s accepts a number at least 0."
    )


def test_construction_reads_no_environment(monkeypatch):
    monkeypatch.setenv("CXDATA_TEAM_MODE", "true")
    monkeypatch.setenv("CXDATA_LOCK_TIMEOUT_S", "7")
    monkeypatch.setenv("CXDATA_DB", "/somewhere/else.duckdb")
    monkeypatch.setenv("CXDATA_TEAMMODE", "1")  # not even an unknown name is looked at
    settings = Settings(lock_timeout_s=2.0)
    assert settings.team_mode is False
    assert settings.lock_timeout_s == 2.0
    assert settings.db_path == DEFAULT_DB
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert Settings().model_dump() == defaults


def test_replace_copies_with_changes_and_validates():
    base = Settings(lock_timeout_s=2.0)
    copy = base.replace(pseudonymise=True, keep_open_s=3)
    assert (copy.pseudonymise, copy.keep_open_s, copy.lock_timeout_s) == (True, 3.0, 2.0)
    assert base.pseudonymise is False
    with pytest.raises(SettingsError, match=r"setting min_customers=-1: min_customers accepts"):
        base.replace(min_customers=-1)
    with pytest.raises(SettingsError, match="no such setting"):
        base.replace(team_mod=True)


def test_settings_are_frozen_and_hashable():
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.team_mode = True  # type: ignore[misc]
    assert hash(settings) == hash(Settings())


def test_every_setting_has_a_help_line_and_its_accepted_values_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    accepts = Settings.accepts()
    assert list(Settings.help()) == list(accepts) == list(Settings.model_fields)
    for name, help_line in Settings.help().items():
        assert help_line, name
        row = re.search(rf"^\| `{name}` \|.*$", readme, re.M)
        assert row, name
        assert f"| {accepts[name]} |" in row.group(0), name


def test_importing_the_settings_stays_light():
    """`cxdata --help` and `cxdata stats` must start fast: no analysis stack behind config."""
    code = (
        "import sys, cxdata.config; "
        "print(' '.join(m for m in ('pandas', 'numpy', 'ibis', 'sklearn', 'scipy', 'duckdb', "
        "'streamlit', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
