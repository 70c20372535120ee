"""Problems in a mapping file are reported against the mapping file's name and line."""

from __future__ import annotations

import pytest

from cxdata.cli import main
from cxdata.ingest import IngestError, load_mapping
from cxdata.ingest.toml_lines import key_line

BROKEN = """# mapping for the spring survey
[columns]
customer_id = "Respondent"
kunde = "X"

[wide]
scale = [5, 1]
respondent_id = "Respondent"

[wide.items]
"Q1 Web.site" = { touchpoint = "Website" }

[stages]
order = "Awareness"
"""


def test_every_problem_names_the_mapping_file_and_the_key_line(write):
    with pytest.raises(IngestError) as err:
        load_mapping(write("spring.toml", BROKEN))
    got = sorted((p.file, p.row, p.column) for p in err.value.problems)
    assert got == [
        ("spring.toml", 4, "columns.kunde"),
        ("spring.toml", 7, "wide.scale"),
        ("spring.toml", 8, "wide.respondent_id"),
        ("spring.toml", 10, "wide.items"),  # no usable item: the table's header
        ("spring.toml", 11, "wide.items.Q1 Web.site"),
        ("spring.toml", 14, "stages.order"),
    ]
    assert "spring.toml:4:columns.kunde: unknown canonical column" in str(err.value)


def test_a_missing_table_entry_points_at_its_table(write):
    with pytest.raises(IngestError) as err:
        load_mapping(write("w.toml", '[columns]\nstage = "Phase"\n\n[wide]\nscale = [1, 5]\n'))
    assert [(p.row, p.column) for p in err.value.problems] == [(4, "wide.items")]


def test_syntax_errors_carry_tomllib_line(write):
    with pytest.raises(IngestError) as err:
        load_mapping(write("syntax.toml", '[columns]\ncustomer_id = "R"\nstage = \n'))
    problem = err.value.problems[0]
    assert (problem.file, problem.row) == ("syntax.toml", 3)
    assert problem.reason.startswith("not valid TOML")


def test_key_line_handles_quoted_dotted_and_inline_keys():
    text = 'wide.scale = [1, 5]\n[wide.items]\n"A.b" = { stage = "S" }\n'
    assert key_line(text, "wide.scale") == 1
    assert key_line(text, "wide.items.A.b") == 3
    assert key_line(text, "outcomes.nps") is None


def test_cli_names_the_mapping_file_and_line(store, write, capsys):
    data = write("reviews.csv", "customer_id,stage,score\nA,Usage,1\n")
    mapping = write("reviews.toml", '[columns]\nkunde = "X"\n')
    code = main(["ingest", str(data), "--mapping", str(mapping), "--db", str(store.path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "reviews.toml:2:columns.kunde: unknown canonical column" in err
    assert "reviews.csv" not in err


def test_upload_page_names_the_mapping_file(app_db):
    from tests.conftest import shown, start_app

    at = start_app("app_pages/upload.py", 180)
    at.file_uploader(key="upload_mapping").upload("reviews.toml", b"[wide]\nscale = 3\n", "")
    at.file_uploader(key="upload_file").upload("reviews.csv", b"a,b\n1,2\n", "text/csv").run()
    assert not at.exception, at.exception
    message = shown(at.error[0].value)
    assert message.startswith("reviews.toml: 2 problem(s) in the mapping file")
    assert "reviews.csv" not in message
    table = at.dataframe[0].value
    assert sorted(zip(table["row"], table["column"], strict=True)) == [
        (1, "wide.items"),
        (2, "wide.scale"),
    ]
