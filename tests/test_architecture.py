"""House rules that keep the code base simple: packages by layer, thin pages, one settings
object, clean lint."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cxdata.config import Settings
from tests.conftest import ROOT

PAGES = [ROOT / "dashboard.py", *sorted((ROOT / "app_pages").glob("*.py"))]
CORE = ROOT / "cxdata"
SQL = re.compile(r"\b(SELECT|INSERT INTO|CREATE (TEMP )?TABLE|DELETE FROM|UPDATE \w+ SET)\b")

# Which cxdata packages each package may import: the layers, bottom up. A package never
# imports one above it, so data flows one way: store -> analysis -> display -> app.
LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "store": {"config", "errors"},
    "framework": {"config", "errors", "store"},
    "ingest": {"config", "errors", "store", "framework"},
    "sample": {"config", "errors", "store", "framework", "ingest"},
    "engine": {"config", "errors", "store"},
    "analysis": {"config", "errors", "store", "engine"},
    "personas": {"config", "errors", "store", "engine", "analysis"},
    "display": {"analysis", "personas"},
    "report": {"config", "errors", "store", "engine", "analysis", "personas", "display"},
    "app": {"config", "errors", "store", "framework", "ingest", "sample", "engine",
            "analysis", "personas", "display", "report"},
    "cli": {"config", "errors", "store", "framework", "ingest", "sample", "engine",
            "analysis", "personas", "display", "report"},
}  # fmt: skip


def _package(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return parts[0]


def _cxdata_imports(path: Path) -> set[str]:
    """The cxdata packages a module imports (at any depth, including lazy imports)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "cxdata" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in CORE.rglob("*.py") if p.name != "__init__.py" or p.parent != CORE)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_import_only_the_layers_below(module):
    package = _package(module)
    assert package in LAYERS, f"{package}: add the new package to LAYERS"
    above = _cxdata_imports(module) - LAYERS[package] - {package}
    assert not above, f"{module.relative_to(ROOT)} imports {sorted(above)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_are_thin(page):
    source = page.read_text()
    assert not re.search(r"^\s*(import duckdb|from duckdb|import ibis|from ibis)", source, re.M)
    assert not SQL.search(source)
    assert "cxdata.store" not in source.replace("cxdata.store import Store", "")


def test_only_the_edge_imports_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for p in MODULES
        if _package(p) != "app" and re.search(r"^\s*(import|from) streamlit", p.read_text(), re.M)
    ]
    assert offenders == []


def test_the_edge_and_the_charts_hold_no_sql():
    offenders = [
        str(p.relative_to(ROOT))
        for p in MODULES
        if _package(p) in ("app", "display")
        and (SQL.search(p.read_text()) or "duckdb" in p.read_text())
    ]
    assert offenders == []


# Analysis runs on any engine (DuckDB, Spark): Ibis expressions only. Persona features are
# analysis too; persona model persistence (personas/models.py) is the store's business.
PORTABLE = [p for p in MODULES if _package(p) == "analysis"] + [CORE / "personas" / "features.py"]


@pytest.mark.parametrize("module", PORTABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_analysis_is_ibis_only(module):
    """No duckdb import, no connection (`.con`, `.connect(`, `.sql(`, `.raw_sql(`), no
    `query_df`, no SQL text: what runs on DuckDB runs on Spark."""
    source = module.read_text()
    tree = ast.parse(source)
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }  # fmt: skip
    assert not imported & {"duckdb", "pyspark", "sqlglot"}
    reached = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"con", "connect", "query_df", "sql", "raw_sql", "_session"}
    }
    assert not reached, f"reaches past Ibis: {sorted(reached)}"
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)]  # fmt: skip
    assert not [t for t in strings if SQL.search(t)], "holds SQL text"


def test_only_the_store_opens_duckdb():
    opened = {str(p.relative_to(ROOT)) for p in MODULES if "duckdb.connect(" in p.read_text()}
    assert opened == {"cxdata/store/database.py"}


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
        'pip install -e ".[test,spark]" && python -m pytest',
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
