"""The journey framework: files, versions, validation, CLI, and codes that supply scores."""

from __future__ import annotations

import json
import tomllib

import pytest

from cxdata.cli import main
from cxdata.framework import (
    Framework,
    Interaction,
    Stage,
    active_framework,
    framework_versions,
    import_framework,
    load_framework_file,
    save_framework,
    save_framework_file,
)
from cxdata.ingest import IngestError, Mapping, ingest_file
from cxdata.sample import FRAMEWORK_FILE, SAMPLE_DIR, SURVEY_ITEMS, TOUCHPOINTS, generate
from cxdata.sample import long_frame as sample_long_frame
from cxdata.sample.framework import sample_framework
from cxdata.store import Store
from cxdata.store.schema import SCHEMA_VERSION
from tests.conftest import table_checksum

FW = Framework(
    stages=(
        Stage("Awareness", ("TV ad", "Social media")),
        Stage("Purchase", ("Store checkout", "Web checkout")),
        Stage("Support"),  # no touchpoints at all
    ),
    interactions=(
        Interaction("A-TV", 'Saw the "spring" spot ✓', "Awareness", "TV ad", 1.0),
        Interaction("A-ANY", "Heard of us somehow", "Awareness", None, 0.5),
        Interaction(
            "P-QUEUE", "Waited in the checkout queue", "Purchase", "Store checkout", -2.0, True
        ),
        Interaction("P-FAST", "Paid at once", "Purchase", "Store checkout", 2.0),
        Interaction("S-CALL", "Called support", "Support", None, -1.5, True),
    ),
)

TOML = """
[[stages]]
name = "Awareness"
touchpoints = ["TV ad"]

[[stages]]
name = "Purchase"
touchpoints = ["Store checkout"]

[[interactions]]
code = "P-QUEUE"
label = "Waited in the checkout queue"
stage = "Purchase"
touchpoint = "Store checkout"
score = -2
moment_of_truth = true

[[interactions]]
code = "P-FAST"
label = "Paid at once"
stage = "Purchase"
touchpoint = "Store checkout"
score = 2
"""


@pytest.fixture
def with_framework(store, write):
    import_framework(store, write("fw.toml", TOML))
    return store


@pytest.mark.parametrize("suffix", [".toml", ".csv"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"fw{suffix}"
    save_framework_file(FW, path)
    back = load_framework_file(path)
    # Canonical order: by stage, then touchpoint (none first), then as written.
    assert back.stages == FW.stages
    assert [i.code for i in back.interactions] == ["A-ANY", "A-TV", "P-QUEUE", "P-FAST", "S-CALL"]
    assert set(back.interactions) == set(FW.interactions)
    again = tmp_path / f"again{suffix}"
    save_framework_file(back, again)
    assert load_framework_file(again) == back
    third = tmp_path / f"third{suffix}"
    save_framework_file(load_framework_file(again), third)
    assert third.read_bytes() == again.read_bytes()


def test_csv_declares_stages_in_order_of_first_appearance(write):
    path = write(
        "fw.csv",
        "Stage;Touchpoint;Code;Label;Score;Moment of truth\n"
        "Awareness;TV ad;;;;\n"
        "Purchase;Store checkout;P-Q;Queue;-2,5;ja\n"
        "\n"
        "Awareness;Social media;A-S;Post;1;\n"
        "Delivery;;;;;\n",
    )
    fw = load_framework_file(path)
    assert fw.stages == (
        Stage("Awareness", ("TV ad", "Social media")),
        Stage("Purchase", ("Store checkout",)),
        Stage("Delivery"),
    )
    assert fw.interactions == (
        Interaction("A-S", "Post", "Awareness", "Social media", 1.0, False),
        Interaction("P-Q", "Queue", "Purchase", "Store checkout", -2.5, True),
    )


def test_identical_import_adds_no_version_a_change_does(store, write, tmp_path):
    assert active_framework(store) is None and framework_versions(store).empty
    assert import_framework(store, write("fw.toml", TOML)) == 1
    # Same content in the other format: still the same framework.
    save_framework_file(active_framework(store), tmp_path / "same.csv")
    assert save_framework(store, load_framework_file(tmp_path / "same.csv"), "same.csv") == (
        1,
        False,
    )
    changed = TOML.replace("score = 2", "score = 3")
    assert import_framework(store, write("fw2.toml", changed)) == 2
    assert active_framework(store).interactions[1].score == 3.0
    # Going back to the first content is a change too: it becomes the active version 3.
    assert import_framework(store, write("fw.toml", TOML)) == 3
    versions = framework_versions(store)
    assert versions["version"].tolist() == [3, 2, 1]
    assert versions[["stages", "touchpoints", "interactions"]].iloc[0].tolist() == [2, 2, 2]
    assert versions["sha256"].iloc[0] == versions["sha256"].iloc[2]
    assert active_framework(store) == active_framework(store, version=1)


BAD_TOML = """
colour = "blue"

[[stages]]
name = "Awareness"
touchpoints = ["TV ad", "TV ad"]

[[stages]]
name = "Awareness"

[[stages]]
touchpoints = ["Radio"]

[[interactions]]
code = "X1"
stage = "Purchase"
score = 1

[[interactions]]
code = "X1"
stage = "Awareness"
touchpoint = "Radio"
score = "lots"

[[interactions]]
stage = "Awareness"
score = 4
moment_of_truth = "maybe"
note = "?"

[[interactions]]
code = "X4"
stage = "Awareness"
"""


def _problems(path, **kwargs):
    with pytest.raises(IngestError) as err:
        load_framework_file(path, **kwargs)
    return [(p.row, p.column, p.reason) for p in err.value.problems]


def test_toml_validation_collects_every_problem(write):
    path = write("bad.toml", BAD_TOML)
    assert _problems(path) == [
        (None, "colour", "unknown key (use stages, interactions)"),
        (1, "stages.touchpoints", "touchpoint TV ad appears twice under stage Awareness"),
        (2, "stages.name", "stage Awareness appears more than once (first in row 1)"),
        (3, "stages.name", "stage name is empty"),
        (1, "interactions.stage", "stage Purchase is not a stage of the framework"),
        (2, "interactions.code", "code X1 appears more than once (first in row 1)"),
        (2, "interactions.touchpoint", "touchpoint Radio is not under stage Awareness"),
        (2, "interactions.score", "score is not a number"),
        (3, "interactions.note", "unknown key"),
        (3, "interactions.code", "code is empty"),
        (3, "interactions.score", "score is outside the scale -3..3"),
        (3, "interactions.moment_of_truth", "moment_of_truth must be true or false"),
        (4, "interactions.score", "score is empty (a graded score on the -3..3 scale)"),
    ]


def test_scale_comes_from_the_settings(write, store):
    path = write("fw.toml", TOML)
    wide = store.settings.__class__(score_min=-1, score_max=1)
    assert _problems(path, settings=wide) == [
        (1, "interactions.score", "score is outside the scale -1..1"),
        (2, "interactions.score", "score is outside the scale -1..1"),
    ]


def test_csv_validation_rows_count_the_header(write):
    path = write(
        "bad.csv",
        "stage,touchpoint,code,label,score,moment_of_truth\n"
        "Awareness,TV ad,A1,Spot,1,\n"
        ",TV ad,A2,Spot,1,\n"
        "Awareness,TV ad,A1,Again,x,\n"
        "Awareness,TV ad,A3,Loud,-9,perhaps\n"
        "Awareness,TV ad,,Orphan label,2,\n",
    )
    assert _problems(path) == [
        (3, "stage", "stage is empty"),
        (4, "code", "code A1 appears more than once (first in row 2)"),
        (4, "score", "score is not a number"),
        (5, "score", "score is outside the scale -3..3"),
        (5, "moment_of_truth", "moment_of_truth must be true or false"),
        (6, "code", "code is empty (a row without a code only declares a stage and touchpoint)"),
    ]
    missing = write("cols.csv", "stage,label,points\nA,b,1\n")
    assert _problems(missing) == [
        (
            1,
            "code",
            "required column code is missing (columns: stage, touchpoint, code, "
            "label, score, moment_of_truth)",
        ),
        (
            1,
            "score",
            "required column score is missing (columns: stage, touchpoint, code, "
            "label, score, moment_of_truth)",
        ),
        (
            1,
            "points",
            "unknown column (columns: stage, touchpoint, code, label, score, moment_of_truth)",
        ),
    ]


def test_broken_or_empty_files(write):
    assert _problems(write("x.toml", "[[stages]\n"))[0][2].startswith("not a valid TOML file")
    assert _problems(write("empty.toml", "")) == [(None, None, "the framework declares no stages")]
    assert _problems(write("fw.json", "{}")) == [(None, None, "a framework file is .toml or .csv")]


# -- CLI -------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_export_show(capsys, write, tmp_path):
    db = tmp_path / "cli.duckdb"
    assert run(capsys, "framework", "show", "--db", db) == (0, "no framework yet\n", "")
    assert run(capsys, "framework", "export", tmp_path / "out.toml", "--db", db) == (
        1,
        "",
        "no framework yet\n",
    )
    path = write("fw.toml", TOML)
    code, out, _ = run(capsys, "framework", "import", path, "--db", db)
    assert (code, out) == (0, "framework version 1: 2 stages, 2 touchpoints, 2 interactions\n")
    code, out, _ = run(capsys, "framework", "import", path, "--db", db)
    assert code == 0 and out == (
        "framework version 1: 2 stages, 2 touchpoints, 2 interactions "
        "(unchanged: same content as the active version)\n"
    )
    for suffix in (".csv", ".toml"):
        target = tmp_path / f"export{suffix}"
        code, out, _ = run(capsys, "framework", "export", target, "--db", db)
        assert (code, out) == (0, f"framework version 1 written to {target}\n")
        assert load_framework_file(target) == load_framework_file(path)
    code, out, _ = run(capsys, "framework", "show", "--db", db)
    assert code == 0
    assert out.splitlines()[0].startswith("framework version 1 (fw.toml, ")
    assert out.splitlines()[1:] == [
        "Awareness",
        "  TV ad: 0 interactions",
        "Purchase",
        "  Store checkout: 2 interactions",
    ]
    code, out, _ = run(capsys, "framework", "show", "--db", db, "--json")
    doc = json.loads(out)
    assert doc["framework"]["stages"][1] == {"name": "Purchase", "touchpoints": ["Store checkout"]}
    assert doc["framework"]["interactions"][0]["moment_of_truth"] is True
    assert [v["version"] for v in doc["versions"]] == [1]


def test_cli_bad_file_one_line_per_problem_exit_1(capsys, write, tmp_path):
    db = tmp_path / "cli.duckdb"
    bad = TOML.replace("score = 2\n", "score = 9\n").replace('stage = "Purchase"', 'stage = "Buy"')
    path = write("bad.toml", bad)
    code, out, err = run(capsys, "framework", "import", path, "--db", db)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{path}:1:interactions.stage: stage Buy is not a stage of the framework (value 'Buy')",
        f"{path}:2:interactions.stage: stage Buy is not a stage of the framework (value 'Buy')",
        f"{path}:2:interactions.score: score is outside the scale -3..3 (value '9')",
        f"{path}: nothing imported",
    ]
    assert framework_versions(Store.open(path=db)).empty
    code, _, err = run(capsys, "framework", "import", tmp_path / "missing.toml", "--db", db)
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "framework", "export", tmp_path / "fw.xlsx", "--db", db)
    assert code == 2 and "is .toml or .csv" in err


# -- ingest ----------------------------------------------------------------------------


def test_interaction_codes_supply_missing_scores(with_framework, write):
    path = write(
        "log.csv",
        "customer_id,stage,interaction,score\n"
        "C1,Purchase,P-QUEUE,\n"  # catalogue score
        "C2,Purchase,P-FAST,1\n"  # its own score wins
        "C3,Purchase,P-FAST, \n"  # blank counts as empty
        "C4,Purchase,,-1\n",  # no code, own score
    )
    result = ingest_file(with_framework, path)
    assert result.rows == 4 and not result.warnings
    stored = with_framework.query_df(
        "SELECT customer_id, coalesce(interaction, '-'), score FROM observations "
        "ORDER BY source_row"
    )
    assert stored.values.tolist() == [
        ["C1", "P-QUEUE", -2.0],
        ["C2", "P-FAST", 1.0],
        ["C3", "P-FAST", 2.0],
        ["C4", "-", -1.0],
    ]


def test_german_file_without_score_column(with_framework, write):
    path = write("de.csv", "Kunde;Phase;Interaktion\nK1;Purchase;P-FAST\nK2;Purchase;P-QUEUE\n")
    ingest_file(with_framework, path)
    scores = with_framework.query_df("SELECT score FROM observations ORDER BY source_row")
    assert scores["score"].tolist() == [2.0, -2.0]
    empty = write("de2.csv", "Kunde;Phase;Interaktion\nK3;Purchase;\n")
    with pytest.raises(IngestError) as err:
        ingest_file(with_framework, empty)
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "Interaktion")]
    assert "the file has no score column" in err.value.problems[0].reason


def test_unknown_code_without_score_is_an_error(with_framework, write):
    before = table_checksum(with_framework)
    path = write(
        "log.csv",
        "customer_id,stage,interaction,score\n"
        "C1,Purchase,P-NOPE,\n"
        "C2,Purchase,P-NOPE,1\n"  # has a score: fine
        "C3,Purchase,,\n",
    )
    with pytest.raises(IngestError) as err:
        ingest_file(with_framework, path)
    assert [p.line() for p in err.value.problems] == [
        "log.csv:2:interaction: interaction code P-NOPE is not in the journey framework "
        "(value 'P-NOPE')",
        "log.csv:4:score: score is empty (every observation needs a score on the -3..3 scale)",
    ]
    assert table_checksum(with_framework) == before


def test_without_framework_a_code_does_not_replace_the_score(store, write):
    path = write("log.csv", "customer_id,stage,interaction,score\nC1,Purchase,P-QUEUE,\n")
    with pytest.raises(IngestError) as err:
        ingest_file(store, path)
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "score")]


def test_stage_warnings_and_order_follow_the_framework(with_framework, write):
    mapping = Mapping(stage_order=("Kauf", "Purchase"))  # the framework wins over this
    path = write("s.csv", "customer_id,stage,score\nC1,Kauf,1\nC2,Purchase,1\nC3,Kauf,2\n")
    result = ingest_file(with_framework, path, mapping=mapping)
    assert [(w.row, w.column, w.value) for w in result.warnings] == [(2, "stage", "Kauf")]
    reason = result.warnings[0].reason
    assert "2 rows" in reason
    version, source = with_framework.query_df(
        "SELECT version, source_name FROM framework_versions ORDER BY version DESC LIMIT 1"
    ).iloc[0]
    assert f"stage is not in the journey framework (version {version}, from {source})" in reason
    assert "Journey framework page, or cxdata framework import" in reason
    assert with_framework.stage_order() == ["Awareness", "Purchase", "Kauf"]
    assert with_framework.stats()["stages"] == ["Purchase", "Kauf"]


def test_old_store_migrates_to_framework_tables(store):
    """A version-1 store (no framework or persona tables) is brought to the current schema."""
    with store.connect() as con:
        for table in (
            "audit",
            "persona_names",
            "persona_assignments",
            "persona_models",
            "framework_interactions",
            "framework_touchpoints",
            "framework_stages",
            "framework_versions",
        ):
            con.execute(f"DROP TABLE {table}")
        con.execute("DROP SEQUENCE audit_id_seq")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert Store.open(store.settings, store.path).schema_version() == SCHEMA_VERSION
    assert active_framework(store) is None


# -- sample ----------------------------------------------------------------------------


def test_sample_framework_covers_the_sample_files():
    tables = generate()
    long = sample_long_frame(tables)
    fw = load_framework_file(SAMPLE_DIR / FRAMEWORK_FILE)
    assert fw == sample_framework(tables)
    catalogue = {i.code: i for i in fw.interactions}
    assert set(catalogue) == set(long["interaction"])
    by_stage = {s.name: set(s.touchpoints) for s in fw.stages}
    assert set(by_stage) == set(long["stage"])
    for stage, touchpoint in long[["stage", "touchpoint"]].drop_duplicates().itertuples(False):
        assert touchpoint in by_stage[stage]
    survey = tomllib.loads((SAMPLE_DIR / "survey_wide.mapping.toml").read_text("utf-8"))
    for item in survey["wide"]["items"].values():
        assert item["touchpoint"] in by_stage[item["stage"]]
    assert sum(len(t) for t in by_stage.values()) == len(TOUCHPOINTS) >= len(SURVEY_ITEMS)
    medians = long.groupby("interaction")["score"].median()
    for code, entry in catalogue.items():
        assert abs(entry.score - medians[code]) <= 0.5
        assert (entry.stage, entry.touchpoint) == tuple(
            long.loc[long["interaction"] == code, ["stage", "touchpoint"]].iloc[0]
        )
    moments = {c for c, i in catalogue.items() if i.moment_of_truth}
    assert moments and all(catalogue[c].score < 0 for c in moments)
    assert {catalogue[c].touchpoint for c in moments} == {"Home delivery", "Call centre"}
    assert catalogue["R-CHK-QUEUE"].label == "Waited several minutes at checkout"
