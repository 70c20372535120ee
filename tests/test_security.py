"""Security: the app's DuckDB sandbox, hostile input through filters and the CLI, safe
downloads, and the hardening of the web app and its dependencies."""

from __future__ import annotations

import importlib.metadata as metadata
import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from cxdata.analysis.filters import Filters
from cxdata.analysis.scoring import stage_scores
from cxdata.cli import main
from cxdata.config import Settings
from cxdata.ingest import ingest_bytes, ingest_file
from cxdata.ingest.export import safe_csv
from cxdata.store import Store
from tests.conftest import ROOT, table_checksum

CSV = "customer_id,stage,score,region\nC1,Purchase,2,North\nC2,Delivery,-1,South\n"


@pytest.fixture
def sandboxed(tmp_path: Path) -> Store:
    return Store.open(Settings(lock_timeout_s=2.0), tmp_path / "app" / "cx.duckdb", sandbox=())


# -- the app's sandbox ------------------------------------------------------------------

HOSTILE = [
    ("SELECT * FROM read_csv('/etc/passwd', sep = ':')", "file system operations are disabled"),
    ("SELECT * FROM read_text('/etc/hostname')", "file system operations are disabled"),
    ("COPY observations TO '{tmp}/stolen.csv'", "file system operations are disabled"),
    ("ATTACH '{tmp}/other.duckdb' AS other", "file system operations are disabled"),
    ("SELECT * FROM read_csv('{scratch}/../../etc/passwd')", "file system operations"),
    ("INSTALL httpfs", "disabled"),
    ("SET enable_external_access = true", "configuration has been locked"),
    ("SET allowed_directories = ['/']", "configuration has been locked"),
    ("SET memory_limit = '64GB'", "configuration has been locked"),
    ("RESET lock_configuration", "configuration has been locked"),
]


@pytest.mark.parametrize(("sql", "message"), HOSTILE, ids=[h[0][:32] for h in HOSTILE])
def test_app_connection_refuses_files_and_settings(sandboxed, tmp_path, sql, message):
    sql = sql.format(tmp=tmp_path, scratch=sandboxed.scratch_dir)
    with sandboxed.connect() as con, pytest.raises(duckdb.Error, match=message):
        con.execute(sql)
    assert not (tmp_path / "stolen.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_every_concurrent_app_connection_is_sandboxed(sandboxed):
    with sandboxed.connect() as first, sandboxed.connect() as second:
        for con in (first, second):
            row = con.execute(
                "SELECT current_setting('enable_external_access'), "
                "current_setting('lock_configuration'), current_setting('TimeZone')"
            ).fetchone()
            assert row == (False, True, "UTC")


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    for line in CSV.strip().splitlines():
        book.active.append([int(v) if v.lstrip("-").isdigit() else v for v in line.split(",")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _parquet() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(pd.read_csv(io.StringIO(CSV))), out)
    return out.getvalue()


UPLOADS = {
    "utf8.csv": CSV.encode(),
    "utf16.csv": CSV.encode("utf-16"),  # read through a decoded copy in the scratch folder
    "latin1.csv": CSV.replace("North", "Köln").encode("cp1252"),
    "book.xlsx": _xlsx(),
    "data.parquet": _parquet(),
    "data.json": json.dumps(
        [
            {"customer_id": "C1", "stage": "Purchase", "score": 2, "region": "North"},
            {"customer_id": "C2", "stage": "Delivery", "score": -1, "region": "South"},
        ]
    ).encode(),  # fmt: skip
}


@pytest.mark.parametrize("name", list(UPLOADS))
def test_uploads_and_scores_work_in_the_sandbox(sandboxed, name):
    result = ingest_bytes(sandboxed, name, UPLOADS[name])
    assert (result.batch_id, result.rows, result.customers) == (1, 2, 2)
    scores = stage_scores(sandboxed, ["region"], Filters.build({"stage": ["Purchase"]}))
    assert scores[["stage", "n_customers", "mean_score"]].values.tolist() == [["Purchase", 1, 2.0]]
    assert list(sandboxed.scratch_dir.iterdir()) == []  # uploads are not left behind


def test_the_app_store_is_sandboxed_to_its_scratch_folder_and_the_sample(tmp_path):
    from cxdata.app import data
    from cxdata.sample import DATA_FILES, SAMPLE_DIR

    store = data._store.__wrapped__(str(tmp_path / "app.duckdb"))  # type: ignore[attr-defined]
    assert store.sandbox == tuple(SAMPLE_DIR / name for name in DATA_FILES)
    with store.connect() as con:
        dirs, paths = con.execute(
            "SELECT current_setting('allowed_directories'), current_setting('allowed_paths')"
        ).fetchone()
    spill = store.path.resolve().with_name(store.path.name + ".tmp")  # DuckDB adds its own
    assert sorted(dirs) == sorted([f"{store.scratch_dir.resolve()}/", f"{spill}/"])
    own = [p for p in paths if p.startswith(str(store.path.resolve()))]  # WAL etc.: DuckDB's
    assert sorted(set(paths) - set(own)) == sorted(str(p.resolve()) for p in store.sandbox)


# -- hostile input ----------------------------------------------------------------------

TRICKY = "x' OR 1=1 --"


@pytest.fixture
def hostile_db(store, write):
    ingest_file(
        store,
        write(
            "tricky.csv",
            'customer_id,stage,score,"x""; DROP TABLE observations; --"\n'
            f"C1,{TRICKY},2,a\nC2,Purchase,-1,b\nC3,Purchase,1,b\n",
        ),
    )
    return store


def test_filter_values_are_data_not_sql(capsys, hostile_db):
    before = table_checksum(hostile_db)
    db = str(hostile_db.path)
    assert main(["scores", "--db", db, "--where", f"stage={TRICKY}", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["stage"], r["n_observations"]) for r in rows] == [(TRICKY, 1)]
    attribute = 'x"; DROP TABLE observations; --'
    assert main(["scores", "--db", db, "--by", f"stage,{attribute}", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["stage"], r[attribute], r["n_customers"]) for r in rows) == [
        ("Purchase", "b", 2),
        (TRICKY, "a", 1),
    ]
    assert table_checksum(hostile_db) == before


def test_filter_values_never_appear_in_the_sql(hostile_db):
    import ibis

    attribute, sneaky = 'x"; DROP TABLE observations; --', "b' OR '1'='1"
    filters = Filters.build({"stage": [TRICKY]}, {attribute: ["a", sneaky]})
    with hostile_db.ibis() as backend:
        expr = filters.apply(backend)
        sql = ibis.to_sql(expr)
        assert "1=1" not in sql and "'1'='1" not in sql  # values live in a bound table
        assert expr.count().to_pandas() == 1  # C1: the tricky stage, attribute "a"
        only_sneaky = Filters.build({}, {attribute: [sneaky]}).apply(backend)
        assert only_sneaky.count().to_pandas() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "stage;DROP TABLE observations"], '--by starts with "stage"'),
        (["--by", "stage,touchpoint;DROP TABLE observations"], "cannot group by"),
        (["--where", "stage;DROP TABLE observations=x"], "unknown column"),
        (["--where", "observed_at>=2026-01-01'; DROP TABLE observations; --"], "date must"),
    ],
)
def test_hostile_column_names_are_refused(capsys, hostile_db, args, message):
    before = table_checksum(hostile_db)
    assert main(["scores", "--db", str(hostile_db.path), *args]) == 2
    assert message in capsys.readouterr().err
    assert table_checksum(hostile_db) == before


# -- downloads --------------------------------------------------------------------------


def test_csv_downloads_neutralise_formula_cells():
    df = pd.DataFrame(
        {
            "=HYPERLINK()": ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\ry", "plain"],
            "n": [-1, 2, 3, 4, 5, 6, 7],
        }
    )
    text = safe_csv(df).decode()
    parsed = pd.read_csv(io.StringIO(text, newline=""), keep_default_na=False)
    assert parsed.values.tolist() == [
        ["'=1+1", -1],
        ["'+SUM(A1)", 2],
        ["'-2+3", 3],
        ["'@cmd", 4],
        ["'\tx", 5],
        ["'\ry", 6],
        ["plain", 7],
    ]
    assert text.startswith("'=HYPERLINK(),n")


# -- hardening --------------------------------------------------------------------------

STREAMLIT_FLOOR = Version("1.54.0")
"""GHSA-7p48-42j8-8846 / CVE-2026-33682 (SSRF with NTLM leak on Windows), fixed in 1.54.0:
the newest Streamlit advisory we know of."""
STARLETTE_FLOOR = Version("1.0.1")
"""GHSA-86qp-5c8j-p5mr / CVE-2026-48710 (Host header), fixed in 1.0.1; Streamlit allows
starlette >= 0.46, so cxdata sets the floor itself."""


def test_xsrf_protection_stays_on():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"].get("enableCORS", True) is True  # XSRF needs CORS on
    effective = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; "
         "print(config.get_option('server.enableXsrfProtection'))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert effective.stdout.strip() == "True"


def test_dependency_floors_are_past_the_latest_security_fixes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        mins = [Version(s.version) for s in req.specifier if s.operator == ">="]
        floors[req.name] = max(mins) if mins else None
    assert floors["streamlit"] is not None and floors["streamlit"] >= STREAMLIT_FLOOR
    assert floors["starlette"] is not None and floors["starlette"] >= STARLETTE_FLOOR
    assert Version(metadata.version("streamlit")) >= STREAMLIT_FLOOR
    assert Version(metadata.version("starlette")) >= STARLETTE_FLOOR


def _installed_closure(root: str) -> dict[str, str]:
    """name -> version of `root` and everything it (with its extras) requires, installed."""
    seen: dict[str, str] = {}
    todo = [(root, {"test"})]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((req.name, set(req.extras)))
    seen.pop("cxdata", None)
    return seen


def _pypi_vulnerability_api_reachable() -> bool:
    url = f"https://pypi.org/pypi/streamlit/{metadata.version('streamlit')}/json"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return "vulnerabilities" in json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return False


def test_pip_audit_finds_no_known_vulnerability(tmp_path):
    """pip-audit over cxdata's installed dependency closure (not the whole site-packages),
    against PyPI's vulnerability data, --strict: a package it cannot audit fails too.
    Skipped, saying why, only when that data cannot be reached (an offline machine): a
    network hiccup must not pass as "no vulnerabilities", nor fail an unrelated change."""
    pip_audit = shutil.which("pip-audit")
    assert pip_audit, "pip-audit comes with the test extra"
    if not _pypi_vulnerability_api_reachable():
        pytest.skip("PyPI's vulnerability data (pypi.org/pypi/NAME/VERSION/json) is unreachable")
    pins = tmp_path / "requirements.txt"
    pins.write_text("".join(f"{n}=={v}\n" for n, v in sorted(_installed_closure("cxdata").items())))
    done = subprocess.run(
        [pip_audit, "--strict", "--no-deps", "--disable-pip", "--progress-spinner", "off",
         "--vulnerability-service", "pypi", "-r", str(pins)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
