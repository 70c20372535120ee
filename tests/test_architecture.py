"""House rules that keep the code base simple: thin pages, one settings object, clean lint."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from cxdata.config import Settings
from tests.conftest import ROOT

PAGES = [ROOT / "dashboard.py", *sorted((ROOT / "app_pages").glob("*.py"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_are_thin(page):
    source = page.read_text()
    assert not re.search(r"^\s*(import duckdb|from duckdb)", source, re.M)
    assert not re.search(r"\b(SELECT|INSERT INTO|CREATE TABLE|DELETE FROM)\b", source)


def test_core_does_not_import_streamlit():
    offenders = [
        p.relative_to(ROOT)
        for p in (ROOT / "cxdata").rglob("*.py")
        if not (p.name == "ui.py" or p.name.startswith("ui_"))
        and re.search(r"^\s*(import|from) streamlit", p.read_text(), re.M)
    ]
    assert offenders == []


def test_only_store_and_ingest_open_duckdb():
    opened = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "cxdata").rglob("*.py")
        if "duckdb.connect(" in p.read_text()
    }
    assert opened == {"cxdata/store.py"}


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, help_line in Settings.help().items():
        assert f"| `{name}` |" in readme, name
        assert help_line.split(" (")[0].rstrip(".") in readme, name


def test_readme_starts_with_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block and readme.index("```bash") < readme.index("\n## ")
    commands = block.group(1).strip().splitlines()
    assert commands == [
        "pip install -e . && streamlit run dashboard.py",
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    assert ruff, "ruff comes with the test extra"
    for args in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean():
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
