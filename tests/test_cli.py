"""The CLI contract: spellings, output lines and exit codes users and scripts rely on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from cxdata.cli import main

GOOD = "customer_id,stage,score\nC1,Purchase,2\nC2,Delivery,-1\n"


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.duckdb")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_success_then_already_imported(capsys, write, db):
    path = write("good.csv", GOOD)
    code, out, _ = run(capsys, "ingest", str(path), "--db", db, "--study", "Pilot")
    assert code == 0
    assert out.startswith(f"{path}: imported as batch 1: 2 observations, 2 customers")
    code, out, _ = run(capsys, "ingest", str(path), "--db", db)
    assert code == 0
    assert out.strip() == f"{path}: already imported as batch 1; nothing added"


def test_ingest_problems_one_line_each_then_nothing_imported(capsys, write, db):
    path = write("bad.csv", "customer_id,stage,score\nC1,Purchase,9\n,Delivery,1\n")
    code, out, err = run(capsys, "ingest", str(path), "--db", db)
    assert code == 1
    assert err.splitlines() == [
        f"{path}:2:score: score is outside the scale -3..3 (value '9')",
        f"{path}:3:customer_id: customer id is empty",
        f"{path}: nothing imported",
    ]
    assert json.loads(run(capsys, "stats", "--db", db, "--json")[1])["observations"] == 0


def test_at_most_50_problems_then_a_count(capsys, write, db):
    path = write("many.csv", "customer_id,stage,score\n" + "C,S,x\n" * 120)
    code, _, err = run(capsys, "ingest", str(path), "--db", db)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 52
    assert lines[49] == f"{path}:51:score: score is not a number (value 'x')"
    assert lines[50] == "... and 70 more problems"


def test_batches_remove_and_stats(capsys, write, db):
    run(capsys, "ingest", str(write("a.csv", GOOD)), "--db", db)
    run(capsys, "ingest", str(write("b.csv", GOOD.replace("C1", "C3"))), "--db", db)
    code, out, _ = run(capsys, "batches", "--db", db, "--json")
    batches = json.loads(out)
    assert code == 0 and [b["batch_id"] for b in batches] == [2, 1]
    assert batches[0]["source_name"].endswith("b.csv") and batches[0]["rows"] == 2
    code, out, _ = run(capsys, "stats", "--db", db, "--json")
    assert json.loads(out) == {
        "observations": 4,
        "customers": 3,
        "batches": 2,
        "stages": ["Purchase", "Delivery"],
    }
    code, out, _ = run(capsys, "remove-batch", "1", "--db", db)
    assert code == 0 and out.strip() == "removed batch 1 (2 observations)"
    assert json.loads(run(capsys, "stats", "--db", db, "--json")[1])["observations"] == 2
    code, _, err = run(capsys, "remove-batch", "1", "--db", db)
    assert code == 1 and err.strip() == "error: There is no batch 1."


def test_usage_errors_exit_2(capsys, write, db):
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", "--db", db])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    code, _, err = run(capsys, "ingest", "missing.csv", "--db", db)
    assert code == 2 and "missing.csv: no such file" in err
    bad_mapping = write("m.toml", "[wide]\nscale = 3\n")
    code, _, err = run(
        capsys, "ingest", str(write("a.csv", GOOD)), "--db", db, "--mapping", str(bad_mapping)
    )
    assert code == 2 and "wide.scale" in err


def test_db_from_environment(capsys, write, tmp_path, monkeypatch):
    monkeypatch.setenv("CXDATA_DB", str(tmp_path / "env.duckdb"))
    assert run(capsys, "ingest", str(write("a.csv", GOOD)))[0] == 0
    assert (tmp_path / "env.duckdb").exists()


def test_console_script_and_sample(tmp_path):
    exe = shutil.which("cxdata")
    assert exe, "pip install -e . installs the cxdata console script"
    done = subprocess.run(
        [exe, "sample", "--out", str(tmp_path / "s")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "survey_wide.mapping.toml").exists()
    assert subprocess.run([exe, "nope"], capture_output=True, check=False).returncode == 2


def test_scores_contract(capsys, write, db):
    rows = "customer_id,stage,touchpoint,score,tier\nA,Buy,Till,2,Gold\nA,Buy,Till,-2,Gold\n"
    rows += "B,Buy,Web,3,Gold\nC,Buy,Web,-1,Basic\nC,Use,App,1,Basic\n"
    run(capsys, "ingest", str(write("s.csv", rows)), "--db", db)
    code, out, _ = run(capsys, "scores", "--db", db, "--by", "stage,touchpoint", "--format", "json")
    rows_out = json.loads(out)
    assert code == 0 and [(r["stage"], r["touchpoint"]) for r in rows_out] == [
        ("Buy", "Till"),
        ("Buy", "Web"),
        ("Use", "App"),
    ]
    web = rows_out[1]
    assert {
        k: web[k]
        for k in (
            "n_customers",
            "n_observations",
            "mean_score",
            "delight_share",
            "disappointment_share",
            "net_experience",
            "verdict",
            "low_n",
        )
    } == {
        "n_customers": 2,
        "n_observations": 2,
        "mean_score": 1.0,
        "delight_share": 0.5,
        "disappointment_share": 0.5,
        "net_experience": 0.0,
        "verdict": "neutral",
        "low_n": True,
    }
    assert set(web) >= {"ci_low", "ci_high"}
    code, out, _ = run(capsys, "scores", "--db", db, "--where", "tier=Gold", "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("stage,n_customers,n_observations,mean_score")
    assert lines[1].startswith("Buy,2,3,1.5,")  # A: 0, B: 3
    code, _, err = run(capsys, "scores", "--db", db, "--where", "color=red")
    assert code == 2 and 'unknown column "color"' in err
    code, _, err = run(capsys, "scores", "--db", db, "--by", "touchpoint")
    assert code == 2 and '--by starts with "stage"' in err


def test_a_misspelt_setting_stops_the_command_with_exit_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cxdata.cli", "stats", "--db", str(tmp_path / "x.duckdb")],
        env={**os.environ, "CXDATA_TEAM_MODE": "ture"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "CXDATA_TEAM_MODE='ture'" in done.stderr
    assert "true or false (also 1/0, yes/no, on/off)" in done.stderr
    assert "Traceback" not in done.stderr


def test_compare_help_states_the_method(capsys):
    from cxdata.analysis.compare import METHOD

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for term in ("Welch", "Benjamini-Hochberg", "Yekutieli (2005)", "ci95_low", "ci_level"):
        assert term in out and term in METHOD, term
