"""A wide survey without a respondent id: each row is one respondent, id `<stem>-<row>`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cxdata.app import actions
from cxdata.app.auth import Principal, Role
from cxdata.ingest import IngestError, Mapping, ingest_file, load_mapping

ROW_MAPPING = """
[wide]
respondent_id = "row"
scale = [1, 5]
[wide.items]
"Q1 Website" = { stage = "Consideration", touchpoint = "Website" }
"Q2 Delivery" = { stage = "Delivery", touchpoint = "Home delivery" }
"""
SURVEY = "Region,Q1 Website,Q2 Delivery\nNorth,1,5\nSouth,,2\nEast,4,3\n"


def test_wide_file_without_id_imports_with_row_ids(store, write):
    mapping = load_mapping(write("w.toml", ROW_MAPPING))
    assert mapping.row_ids
    result = ingest_file(store, write("survey-2026.csv", SURVEY), mapping=mapping)
    assert (result.rows, result.customers) == (5, 3)
    got = store.query_df(
        "SELECT customer_id, stage, score, source_row FROM observations ORDER BY source_row, stage"
    )
    # header is row 1, so the first respondent is row 2; score 1..5 -> -3..3
    assert got.values.tolist() == [
        ["survey-2026-2", "Consideration", -3.0, 2],
        ["survey-2026-2", "Delivery", 3.0, 2],
        ["survey-2026-3", "Delivery", -1.5, 3],
        ["survey-2026-4", "Consideration", 1.5, 4],
        ["survey-2026-4", "Delivery", 0.0, 4],
    ]
    region = store.query_df(
        "SELECT customer_id, value FROM customer_attributes WHERE name = 'Region' ORDER BY 1"
    )
    assert region.values.tolist() == [
        ["survey-2026-2", "North"],
        ["survey-2026-3", "South"],
        ["survey-2026-4", "East"],
    ]


def test_missing_id_error_says_how_to_number_rows(store, write):
    mapping = replace(load_mapping(write("w.toml", ROW_MAPPING)), row_ids=False)
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("survey.csv", SURVEY), mapping=mapping)
    reason = err.value.problems[0].reason
    assert reason.startswith("required column customer_id is missing")
    assert 'respondent_id = "row" under [wide]' in reason
    assert 'tick "Each row is one respondent" on the Upload page' in reason
    assert "cxdata ingest --row-ids" in reason
    assert store.query_df("SELECT count(*) AS n FROM observations")["n"][0] == 0


def test_cli_row_ids(store, write, capsys):
    from cxdata.cli import main

    path = write("walk-in.csv", "Stage,Score\nUsage,1\n")
    assert main(["ingest", str(path), "--row-ids", "--db", str(store.path)]) == 0
    assert "1 observations, 1 customers" in capsys.readouterr().out
    assert store.query_df("SELECT customer_id FROM observations")["customer_id"][0] == "walk-in-2"


def test_long_file_without_id_imports_with_the_upload_checkbox(store):
    admin = Principal(None, Role.ADMIN)
    csv = b"Stage,Score\nOnboarding,2\nUsage,-1\n"
    checked = actions.check_upload(admin, store, "visits.csv", csv,
                                   mapping=actions.upload_mapping(None, row_ids=True))  # fmt: skip
    assert checked.rows == 2 and checked.columns["customer_id"] == "(row number)"
    actions.import_upload(admin, store, "visits.csv", csv, row_ids=True)
    got = store.query_df("SELECT customer_id, stage FROM observations ORDER BY source_row")
    assert got.values.tolist() == [["visits-2", "Onboarding"], ["visits-3", "Usage"]]


def test_respondent_id_accepts_only_row(write):
    with pytest.raises(IngestError) as err:
        load_mapping(write("m.toml", ROW_MAPPING.replace('"row"', '"Respondent"')))
    assert err.value.problems[0].column == "wide.respondent_id"
    assert err.value.problems[0].reason.startswith('must be "row"')
    both = '[columns]\ncustomer_id = "Respondent"\n' + ROW_MAPPING
    with pytest.raises(IngestError) as err:
        load_mapping(write("both.toml", both))
    assert "keep one of the two" in err.value.problems[0].reason
    assert Mapping().row_ids is False


def test_wide_without_not_applicable_codes_checks_every_rating(store, write):
    """Without `not_applicable` a rating that is not a number is an error, not dropped."""
    mapping = load_mapping(write("w.toml", ROW_MAPPING))
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("s.csv", "Q1 Website,Q2 Delivery\n2,gut\n"), mapping=mapping)
    assert [(p.row, p.column, p.value) for p in err.value.problems] == [(2, "Q2 Delivery", "gut")]


def test_upload_page_checkbox_numbers_the_rows(app_db):
    from cxdata.config import Settings
    from cxdata.store import Store
    from tests.conftest import shown, start_app

    at = start_app("app_pages/upload.py", 180)
    content = b"Stage,Score\nOnboarding,2\nUsage,-1\n"
    at.file_uploader(key="upload_file").upload("walk-in.csv", content, "text/csv").run()
    assert "problem(s) found" in shown(at.error[0].value)
    at.checkbox(key="upload_row_ids").check().run()
    assert not at.error
    at.button(key="upload_import").click().run()
    assert not at.exception, at.exception
    got = Store.open(Settings(), app_db).query_df(
        "SELECT customer_id FROM observations WHERE customer_id LIKE 'walk-in-%' ORDER BY 1"
    )
    assert got["customer_id"].tolist() == ["walk-in-2", "walk-in-3"]
