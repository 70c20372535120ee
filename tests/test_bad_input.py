"""Every file of the bad-input corpus (tests/corpus.py): a refused file names file, row,
column and reason, leaves every table as it was, and the same process imports a good
file right after; an accepted one stores exactly what the file says."""

from __future__ import annotations

import zipfile
from collections import Counter

import pytest

from cxdata.ingest import IngestError, ingest_file
from tests.conftest import table_checksum
from tests.corpus import BOMB_UNPACKED_MB, CASES, Imported, Refused, build_corpus

GOOD = "customer_id,stage,score,segment\nG1,Purchase,2,a\nG2,Usage,-1,b\n"


def test_the_corpus_covers_every_category_with_50_files_or_more():
    assert len(CASES) >= 50
    assert set(Counter(c.category for c in CASES)) >= {
        "encoding", "bom", "delimiter", "ragged", "quotes", "score", "headers", "empty",
        "parquet", "json", "xlsx", "extension", "size", "formula", "hostile",
    }  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def _params():
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c.known_bug)] if c.known_bug else []
        yield pytest.param(c, id=c.name, marks=marks)


@pytest.mark.parametrize("case", _params())
def test_bad_input(case, corpus, store, write):
    ingest_file(store, write("before.csv", GOOD))  # the store holds data to protect
    before = table_checksum(store)
    path = corpus[case.name]
    if isinstance(case.expect, Refused):
        with pytest.raises(IngestError) as err:
            ingest_file(store, path)
        found = [(p.row, p.column, p.reason) for p in err.value.problems]
        assert all(p.file == case.name for p in err.value.problems)
        assert len(found) == len(case.expect.problems), found
        expected = sorted(case.expect.problems, key=lambda p: (p[0] or 0, p[1] or ""))
        for (row, column, fragment), got in zip(expected, found, strict=True):
            assert (got[0], got[1]) == (row, column), found
            assert fragment in got[2], found
        assert table_checksum(store) == before
    else:
        expect: Imported = case.expect
        result = ingest_file(store, path)
        assert result.rows == expect.rows
        assert expect.description in result.description
        observations = store.query_df(
            "SELECT * FROM observations WHERE batch_id = ? ORDER BY source_row", [result.batch_id]
        )
        for column, values in expect.observations.items():
            assert list(observations[column]) == values, column
        if expect.attributes is not None:
            attrs = store.query_df(
                "SELECT name, value FROM customer_attributes WHERE batch_id = ? ORDER BY value",
                [result.batch_id],
            )
            stored: dict[str, list[str]] = {}
            for name, value in attrs.itertuples(index=False):
                stored.setdefault(name, []).append(value)
            assert stored == {k: sorted(v) for k, v in expect.attributes.items()}
    # the process goes on: the next file imports normally
    after = ingest_file(store, write("after.csv", GOOD.replace("G", "H")))
    assert after.rows == 2


def test_bomb_and_oversized_file_are_refused_before_anything_is_unpacked_or_read(
    corpus, store, monkeypatch
):
    """Bounded memory by construction: the refusal comes before the Excel reader or the
    hash and the CSV reader ever see the content (times: bench/bad_input_bench.py)."""
    import python_calamine

    import cxdata.ingest.load as load

    def must_not_run(*args, **kwargs):
        raise AssertionError("content was read")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", must_not_run)
    monkeypatch.setattr(load, "sha256_of", must_not_run)
    bomb = corpus["decompression_bomb.xlsx"]
    declared = sum(i.file_size for i in zipfile.ZipFile(bomb).infolist())
    assert declared > 0.99 * BOMB_UNPACKED_MB * 2**20 > store.settings.max_unpacked_mb * 2**20
    assert bomb.stat().st_size < 10 * 2**20
    with pytest.raises(IngestError, match="refused unopened, it may be a decompression bomb"):
        ingest_file(store, bomb)
    big = corpus["claims_2gb.csv"]
    with pytest.raises(IngestError, match="2,048 MB, more than the 2,000 MB limit"):
        ingest_file(store, big)


def test_cli_reports_refusals_as_lines_and_keeps_going(corpus, tmp_path, capsys):
    from cxdata.cli import main

    db = tmp_path / "cli.duckdb"
    files = [corpus[n] for n in ("decompression_bomb.xlsx", "ragged_rows.csv", "csv_named.txt")]
    assert main(["ingest", *map(str, files), "--db", str(db)]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert any(line.startswith(f"{files[0]}::: the workbook would unpack to") for line in lines)
    assert f"{files[1]}:3:: the row has more fields than the header" in err
    assert f"{files[1]}:5:score: score is not a number (value 'x')" in err
    assert f"{files[2]}: imported as batch 1: 2 observations" in out


def test_upload_limit_setting_is_configurable(store, write):
    small = store.settings.__class__(max_file_mb=0.0001, lock_timeout_s=2.0)
    from cxdata.store import Store

    limited = Store.open(small, store.path)
    with pytest.raises(IngestError) as err:
        ingest_file(limited, write("log.csv", GOOD * 20))
    assert err.value.problems[0].reason.startswith("the file is 0 MB, more than the 0 MB limit")


def test_formula_payloads_are_stored_verbatim_and_guarded_on_export(corpus, store, tmp_path):
    """Stored as typed; `cxdata export` guards every formula-like cell with an apostrophe
    (a spreadsheet shows text), and importing the export restores the original text."""
    import csv

    from cxdata.cli import main
    from cxdata.store import Store
    from tests.corpus import FORMULAS

    ingest_file(store, corpus["formula_payloads.csv"])
    out = tmp_path / "export.csv"
    assert main(["export", str(out), "--db", str(store.path)]) == 0
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["note"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["segment"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["customer_id"] for r in rows] == [f"'=C{i}" for i in range(len(FORMULAS))]
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())
    again = Store.open(store.settings, tmp_path / "again.duckdb")
    ingest_file(again, out)
    notes = again.query_df("SELECT note FROM observations ORDER BY source_row")["note"]
    assert list(notes) == FORMULAS
