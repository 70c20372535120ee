"""Each validation rule reports file, row (as the user sees it), column, value and reason,
and every problem of a file comes back at once."""

from __future__ import annotations

import pytest

from cxdata.ingest import IngestError, Mapping, ingest_file
from tests.conftest import table_checksum


def _problems(store, path, **kw):
    with pytest.raises(IngestError) as err:
        ingest_file(store, path, **kw)
    return {(p.row, p.column, p.reason.split(" (")[0]): p.value for p in err.value.problems}


def test_all_row_rules_reported_at_once(store, write):
    path = write(
        "visits.csv",
        "Kunde,Phase,Bewertung,Zeitpunkt\n"
        "C1,Purchase,2,2026-03-14 09:30\n"  # row 2 fine
        ",Purchase,1,\n"  # row 3: empty customer
        "C2,,1,\n"  # row 4: empty stage
        "C3,Delivery,,\n"  # row 5: empty score
        "C4,Delivery,sehr gut,\n"  # row 6: not a number
        "C5,Delivery,4,\n"  # row 7: out of scale
        "C6,Delivery,-3.5,\n"  # row 8: out of scale
        "C7,Delivery,1,32.13.2026\n"  # row 9: bad timestamp
        'C8,Delivery,"-1,5",14.03.2026 09:30\n',  # row 10 fine (decimal comma)
    )
    found = _problems(store, path)
    assert found == {
        (3, "Kunde", "customer id is empty"): None,
        (4, "Phase", "stage is empty"): None,
        (5, "Bewertung", "score is empty"): None,
        (6, "Bewertung", "score is not a number"): "sehr gut",
        (7, "Bewertung", "score is outside the scale -3..3"): "4",
        (8, "Bewertung", "score is outside the scale -3..3"): "-3.5",
        (9, "Zeitpunkt", "timestamp cannot be read"): "32.13.2026",
    }
    assert store.stats()["observations"] == 0


def test_missing_required_columns(store, write):
    found = _problems(store, write("x.csv", "Name,Phase\nAnna,Purchase\n"))
    assert {(r, c) for r, c, _ in found} == {(1, "customer_id"), (1, "score")}


def test_ragged_rows_and_undecodable_bytes_with_row_numbers(store, write):
    data = (
        b"customer_id,stage,score,note\n"
        b"C1,Usage,1,ok\n"  # row 2
        b"C2,Usage,1,too,many\n"  # row 3: ragged
        b"C3,Usage\n"  # row 4: ragged
        b"C4,Usage,9,\xc3\xa9t\xc3\xa9\n"  # row 5: valid UTF-8, score out of scale
        b"C5,Usage,1,caf\xe9\n"  # row 6: invalid UTF-8 byte
        b"C6,Usage,x,ok\n"  # row 7: not a number (row numbers stay right after rejects)
    )
    found = _problems(store, write("ragged.csv", data))
    assert found == {
        (3, None, "the row has more fields than the header"): None,
        (4, "score", "the row has fewer fields than the header"): None,
        (5, "score", "score is outside the scale -3..3"): "9",
        (6, "note", "undecodable bytes: the row is not valid UTF-8"): None,
        (7, "score", "score is not a number"): "x",
    }


def test_duplicate_observation_ids_in_file_and_against_store(store, write):
    ingest_file(store, write("a.csv", "observation_id,customer_id,stage,score\nO1,C1,Usage,1\n"))
    path = write(
        "b.csv",
        "observation_id,customer_id,stage,score\nO2,C2,Usage,1\nO2,C3,Usage,1\nO1,C4,Usage,2\n",
    )
    found = _problems(store, path)
    assert found == {
        (2, "observation_id", "observation_id appears more than once in the file"): "O2",
        (3, "observation_id", "observation_id appears more than once in the file"): "O2",
        (4, "observation_id", "observation_id already imported in batch 1"): "O1",
    }


def test_unknown_stage_is_kept_with_a_warning(store, write):
    mapping = Mapping(stage_order=("Awareness", "Purchase"))
    path = write("s.csv", "customer_id,stage,score\nC1,Purchase,1\nC2,Kauf,2\nC3,Kauf,1\n")
    result = ingest_file(store, path, mapping=mapping)
    assert result.rows == 3
    assert [(w.row, w.column, w.value, w.severity) for w in result.warnings] == [
        (3, "stage", "Kauf", "warning")
    ]
    assert "2 rows" in result.warnings[0].reason
    assert "stage is not in the mapping's stage order; add it there" in result.warnings[0].reason
    assert store.stats()["stages"] == ["Purchase", "Kauf"]


def test_problems_capped_but_counted(store, write):
    body = "".join(f"C{i},Usage,bad\n" for i in range(30))
    small = store.settings.__class__(max_problems_kept=10)
    from cxdata.store import Store

    capped = Store.open(small, store.path)
    with pytest.raises(IngestError) as err:
        ingest_file(capped, write("many.csv", "customer_id,stage,score\n" + body))
    assert len(err.value.problems) == 10
    assert err.value.total == 30
    assert [p.row for p in err.value.problems] == list(range(2, 12))


def test_error_in_last_row_of_large_file_changes_nothing(store, write):
    ingest_file(store, write("first.csv", "customer_id,stage,score,age\nC0,Usage,1,30\n"))
    before = table_checksum(store)
    rows = [f"C{i},Stage {i % 6},{i % 7 - 3},{i % 90}" for i in range(200_000)]
    rows.append("C-last,Usage,7,40")
    path = write("big.csv", "customer_id,stage,score,age\n" + "\n".join(rows) + "\n")
    found = _problems(store, path)
    assert list(found) == [(200_002, "score", "score is outside the scale -3..3")]
    assert table_checksum(store) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "the file is empty"), (b"customer_id,stage,score\n", "contains no rows")],
)
def test_empty_and_header_only_files(store, write, content, reason):
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("e.csv", content))
    assert reason in err.value.problems[0].reason
