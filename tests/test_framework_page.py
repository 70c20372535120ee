"""The Journey framework page (AppTest, local mode = admin): it shows the active framework,
saves an edit as a new version, lists every problem of a bad edit and saves nothing, imports
and exports files; and "Start with my own data" removes the sample in one audited step."""

from __future__ import annotations

import json

import pytest

from cxdata.app import actions
from cxdata.app.auth import LOCAL, PermissionDenied, Principal, Role
from cxdata.config import Settings
from cxdata.errors import IngestError
from cxdata.framework import (
    active_framework,
    framework_versions,
    import_framework,
    load_framework_file,
)
from cxdata.framework.files import framework_csv, framework_from_table, framework_table
from cxdata.ingest import ingest_file
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings
from cxdata.sample.load import load_sample
from cxdata.sample.remove import NotOnlySampleData, only_sample_data, remove_sample
from cxdata.sample.synthetic import FRAMEWORK_FILE, SAMPLE_DIR
from cxdata.store import Store
from tests.conftest import shown, start_app

PAGE = "app_pages/framework.py"
SAMPLE_FW = load_framework_file(SAMPLE_DIR / FRAMEWORK_FILE)


@pytest.fixture
def sample_db(app_db):
    store = Store.open(Settings(), app_db)
    load_sample(store)
    store.set_meta("sample_offered", "yes")
    return app_db


def _store(db):
    return Store.open(Settings(), db)


def _editor(at):
    (editor,) = at.data_editor
    return editor


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_table_round_trip_and_row_numbers():
    table = framework_table(SAMPLE_FW)
    assert framework_from_table(table) == SAMPLE_FW
    assert len(table) == len(SAMPLE_FW.interactions)  # every sample touchpoint has codes
    table.loc[2, "score"] = 9.0
    table.loc[5, "code"] = table.loc[0, "code"]
    table["moment_of_truth"] = table["moment_of_truth"].astype(object)
    table.loc[6, "moment_of_truth"] = None  # a new row's empty tick is false, not a problem
    with pytest.raises(Exception) as caught:
        framework_from_table(table)
    rows = caught.value.table()[["row", "column", "reason"]].values.tolist()
    assert rows == [
        [3, "score", "score is outside the scale -3..3"],
        [6, "code", f"code {table.loc[0, 'code']} appears more than once (first in row 1)"],
    ]


def test_page_shows_the_active_framework(sample_db):
    at = start_app(PAGE, 180)
    assert [t.value for t in at.title] == ["Journey framework"]
    assert shown(at.markdown[0].value).startswith("**Active: version 1** (framework.toml,")
    stages = at.dataframe[0].value
    assert list(stages["stage"]) == [s.name for s in SAMPLE_FW.stages]
    assert list(stages["touchpoints"]) == [", ".join(s.touchpoints) for s in SAMPLE_FW.stages]
    editor = _editor(at)
    assert editor.editing_mode == "dynamic"
    assert framework_from_table(editor.value) == SAMPLE_FW  # the whole catalogue, editable
    assert [d.label for d in at.download_button] == ["Framework (TOML)", "Framework (CSV)"]
    history = at.dataframe[-1].value
    assert list(history["version"]) == [1] and list(history["source_name"]) == ["framework.toml"]


def _edit(at, edits: dict, added: list | None = None):
    """Seed the editor's edit state, as the browser sends it (rows by position)."""
    at.session_state[_editor(at).key] = {
        "edited_rows": edits,
        "added_rows": added or [],
        "deleted_rows": [],
    }


def test_an_edit_is_saved_as_a_new_version(sample_db):
    at = start_app(PAGE, 180)
    first = SAMPLE_FW.interactions[0]
    _edit(at, {0: {"score": 3.0, "label": "Remembers the ad well"}})
    _button(at, "Save as a new version").click().run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value) == "Saved as version 2."
    store = _store(sample_db)
    fw = active_framework(store)
    changed = fw.interactions[0]
    assert (changed.code, changed.score) == (first.code, 3.0)
    assert changed.label == "Remembers the ad well"
    assert fw.interactions[1:] == SAMPLE_FW.interactions[1:] and fw.stages == SAMPLE_FW.stages
    assert list(framework_versions(store)["source_name"]) == ["edited in the app", "framework.toml"]
    audit = store.audit_log(1)
    assert audit["action"][0] == "framework_import"
    assert json.loads(audit["details"][0])["version"] == 2
    # the page now shows version 2 and its editor starts from it
    assert shown(at.markdown[0].value).startswith("**Active: version 2** (edited in the app,")
    assert framework_from_table(_editor(at).value) == fw


def test_a_bad_edit_lists_every_problem_and_saves_nothing(sample_db):
    at = start_app(PAGE, 180)
    dup = SAMPLE_FW.interactions[0].code
    _edit(
        at,
        {2: {"score": 9.0}, 4: {"code": dup}},
        added=[{"stage": "Awareness", "code": "NEW-1", "label": "New", "score": None}],
    )
    _button(at, "Save as a new version").click().run()
    assert not at.exception, at.exception
    assert shown(at.error[0].value).startswith("The edited framework: 3 problem(s), nothing")
    listed = at.dataframe[2].value[["row", "column", "reason"]].values.tolist()
    n = len(SAMPLE_FW.interactions)
    assert listed == [
        [3, "score", "score is outside the scale -3..3"],
        [5, "code", f"code {dup} appears more than once (first in row 1)"],
        [n + 1, "score", "score is empty (a graded score on the -3..3 scale)"],
    ]
    store = _store(sample_db)
    assert list(framework_versions(store)["version"]) == [1]
    assert active_framework(store) == SAMPLE_FW
    assert _editor(at).key == "framework_editor_1"  # the edits stay in the editor to fix


def test_import_and_export(sample_db, tmp_path):
    """The download buttons' and the uploader's actions (AppTest cannot upload a file)."""
    lines = framework_csv(SAMPLE_FW).splitlines()
    lines[1] = lines[1].rsplit(",", 2)[0] + ",-3,true"  # first code: score -3, moment of truth
    export = _store(sample_db)
    assert actions.export_framework(LOCAL, export, "csv").decode() == framework_csv(SAMPLE_FW)
    assert load_framework_file(_write(tmp_path, "f.toml", actions.export_framework(
        LOCAL, export, "toml"))) == SAMPLE_FW  # fmt: skip
    version = actions.import_framework_upload(
        LOCAL, export, "mine.csv", ("\n".join(lines) + "\n").encode()
    )
    assert version == 2
    fw = active_framework(export)
    assert (fw.interactions[0].score, fw.interactions[0].moment_of_truth) == (-3.0, True)
    with pytest.raises(IngestError) as bad:
        actions.import_framework_upload(LOCAL, export, "bad.csv", b"stage,code\nA,x\n")
    assert "required column score is missing" in bad.value.problems[0].reason
    assert bad.value.problems[0].file == "bad.csv"
    assert list(framework_versions(export)["version"]) == [2, 1]


def _write(folder, name, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


def test_start_with_my_own_data_leaves_no_sample_row_or_framework(sample_db, tmp_path):
    store = _store(sample_db)
    mine = tmp_path / "mine.toml"
    mine.write_text('[[stages]]\nname = "Visit"\ntouchpoints = ["Shop"]\n')
    import_framework(store, mine)  # the researcher's own framework, imported before their data
    discover(store, PersonaSettings(k=3, bootstraps=2))  # personas of the sample's customers
    assert len(store.query_df("SELECT * FROM stages")) == 6  # the sample mappings' order
    assert only_sample_data(store)
    at = start_app(PAGE, 180)
    _button(at, "Start with my own data").click().run()  # without the tick: nothing happens
    assert shown(at.warning[0].value).startswith("Nothing was removed: tick the box")
    assert store.stats()["batches"] == 4
    at.checkbox[0].check()
    _button(at, "Start with my own data").click().run()
    assert not at.exception, at.exception
    with store.connect() as con:
        left = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
                for t in ("observations", "batches", "customer_attributes", "stages",
                          "persona_models", "persona_assignments", "persona_names")}  # fmt: skip
    assert left == dict.fromkeys(left, 0)
    versions = framework_versions(store)
    assert list(versions["source_name"]) == ["mine.toml"]  # the sample's framework went
    assert active_framework(store).stages[0].name == "Visit"
    audit = store.audit_log(1)
    assert audit["action"][0] == "remove_sample"
    details = json.loads(audit["details"][0])
    assert details["batches"] == [1, 2, 3, 4] and details["framework_versions"] == [1]
    assert details["persona_models"] >= 1
    assert shown(at.success[0].value).startswith("Removed 4 sample batches (")
    assert not only_sample_data(store)
    assert "Start with my own data" not in [b.label for b in at.button]


def test_own_data_is_never_removed_as_sample(sample_db, tmp_path):
    store = _store(sample_db)
    own = tmp_path / "own.csv"
    own.write_text("customer_id,stage,touchpoint,score\nc1,Visit,Shop,2\n")
    ingest_file(store, own)
    assert not only_sample_data(store)
    with pytest.raises(NotOnlySampleData, match="1 batch\\(es\\) that are not the sample's"):
        remove_sample(store)
    assert store.stats()["batches"] == 5
    assert len(framework_versions(store)) == 1
    at = start_app(PAGE, 180)
    assert "Start with my own data" not in [b.label for b in at.button]


def test_the_actions_are_refused_to_an_analyst_server_side(sample_db):
    store = _store(sample_db)
    analyst = Principal("a@example.org", Role.ANALYST, team_mode=True)
    table = framework_table(SAMPLE_FW)
    for call in (
        lambda: actions.save_edited_framework(analyst, store, table),
        lambda: actions.import_framework_upload(analyst, store, "f.csv", b""),
        lambda: actions.start_with_own_data(analyst, store),
    ):
        with pytest.raises(PermissionDenied, match="needs the researcher role"):
            call()
    viewer = Principal("v@example.org", Role.VIEWER, team_mode=True)
    with pytest.raises(PermissionDenied):
        actions.export_framework(viewer, store, "toml")
    assert store.stats()["batches"] == 4 and len(framework_versions(store)) == 1
