"""Every format, encoding and delimiter lands the same observations with the same values."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxdata.ingest import IngestError, ingest_file

ROWS = [
    ("C1", "Purchase", "Store checkout", 2, "Schöne Beratung, 5 € Rabatt"),
    ("C1", "Delivery", "Home delivery", -3, "Paket kam zu spät"),
    ("C2", "Purchase", "Web checkout", -1, 'Zahlung: Fehler "3DS"'),
]


def _csv(delim: str) -> str:
    lines = [delim.join(["customer_id", "stage", "touchpoint", "score", "note"])]
    for cid, stage, tp, score, note in ROWS:
        quoted = '"' + note.replace('"', '""') + '"'
        lines.append(delim.join([cid, stage, tp, str(score), quoted]))
    return "\r\n".join(lines) + "\r\n"


def _stored(store):
    return store.query_df(
        "SELECT customer_id, stage, touchpoint, score, note, source_row FROM observations "
        "ORDER BY source_row"
    )


def _assert_rows(store, first_row: int = 2):
    df = _stored(store)
    assert list(df["customer_id"]) == ["C1", "C1", "C2"]
    assert list(df["score"]) == [2.0, -3.0, -1.0]
    assert list(df["note"]) == [r[4] for r in ROWS]
    assert list(df["source_row"]) == [first_row, first_row + 1, first_row + 2]


@pytest.mark.parametrize("delim", [",", ";", "\t"])
def test_csv_delimiters(store, write, delim):
    result = ingest_file(store, write("log.csv", _csv(delim)))
    assert result.rows == 3 and result.customers == 2
    _assert_rows(store)


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 with BOM"),
        ("utf-16", "UTF-16"),
        ("cp1252", "Windows-1252"),
    ],
)
def test_csv_encodings(store, write, encoding, label):
    result = ingest_file(store, write("log.csv", _csv(";"), encoding=encoding))
    assert label in result.description
    _assert_rows(store)


def test_latin1_bytes_outside_windows_1252(store, write):
    # 0x81 is undefined in Windows-1252: the file is read as Latin-1 instead of failing.
    data = b"customer_id,stage,score,note\nC1,Usage,1,Gr" + b"\xfc\x81e\n"
    ingest_file(store, write("legacy.csv", data))
    assert _stored(store)["note"][0] == "Grü\x81e"


def test_xlsx_first_sheet_and_named_sheet(store, write, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Notes"
    first.append(["nothing", "here"])
    first.append(["just", "notes"])
    sheet = book.create_sheet("Observations")
    sheet.append(["Kundennummer", "Phase", "Kontaktpunkt", "Bewertung", "Notiz"])
    for row in ROWS:
        sheet.append(list(row))
    path = tmp_path / "book.xlsx"
    book.save(path)
    with pytest.raises(IngestError) as err:
        ingest_file(store, path)  # the first sheet has no observation columns
    assert any("customer_id is missing" in p.reason for p in err.value.problems)
    with pytest.raises(IngestError) as err:
        ingest_file(store, path, sheet="Nope")
    assert "Observations" in err.value.problems[0].reason
    result = ingest_file(store, path, sheet="Observations")
    assert result.columns["customer_id"] == "Kundennummer"
    _assert_rows(store)


def test_xlsx_numbers_read_as_the_user_sees_them(store, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["customer_id", "stage", "score", "age"])
    book.active.append([1001, "Usage", 2, 41])
    path = tmp_path / "ids.xlsx"
    book.save(path)
    ingest_file(store, path)
    assert store.query_df("SELECT customer_id FROM observations")["customer_id"][0] == "1001"
    attrs = store.query_df("SELECT name, dtype, value, number FROM customer_attributes")
    assert attrs.to_dict("records") == [
        {"name": "age", "dtype": "BIGINT", "value": "41", "number": 41.0}
    ]


def test_parquet(store, tmp_path):
    table = pa.table(
        {
            "customer_id": [r[0] for r in ROWS],
            "stage": [r[1] for r in ROWS],
            "touchpoint": [r[2] for r in ROWS],
            "score": pa.array([r[3] for r in ROWS], pa.int8()),
            "note": [r[4] for r in ROWS],
            "visits": pa.array([3, 3, 1], pa.int32()),
        }
    )
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    ingest_file(store, path)
    _assert_rows(store, first_row=1)
    dtypes = store.query_df("SELECT DISTINCT dtype FROM customer_attributes")
    assert list(dtypes["dtype"]) == ["INTEGER"]


def test_json_array_and_ndjson(store, write):
    records = [
        dict(zip(["customer_id", "stage", "touchpoint", "score", "note"], r, strict=True))
        for r in ROWS
    ]
    ingest_file(store, write("log.json", json.dumps(records, ensure_ascii=False)))
    _assert_rows(store, first_row=1)
    ndjson = "\n".join(json.dumps({**r, "customer_id": r["customer_id"] + "x"}) for r in records)
    ingest_file(store, write("log.ndjson", ndjson))
    df = store.query_df("SELECT customer_id, source_row FROM observations WHERE batch_id = 2")
    assert list(df["customer_id"]) == ["C1x", "C1x", "C2x"]
    assert list(df["source_row"]) == [1, 2, 3]


def test_ndjson_mixed_types_keep_text(store, write):
    lines = [
        {"customer_id": 17, "stage": "Usage", "score": 1, "segment": "A"},
        {"customer_id": "C-18", "stage": "Usage", "score": "2", "segment": 3},
    ]
    ingest_file(store, write("mixed.ndjson", "\n".join(json.dumps(x) for x in lines)))
    df = store.query_df("SELECT customer_id, score FROM observations ORDER BY source_row")
    assert df.to_dict("list") == {"customer_id": ["17", "C-18"], "score": [1.0, 2.0]}


def test_wrong_extension_is_read_by_content(store, write):
    ingest_file(store, write("export.txt", _csv("\t")))
    _assert_rows(store)


def test_big_csv_is_not_read_through_pandas(store, write, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pandas.read_csv must not be used for ingestion")

    monkeypatch.setattr(pd, "read_csv", refuse)
    ingest_file(store, write("log.csv", _csv(",")))
    _assert_rows(store)
