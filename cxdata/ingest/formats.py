"""Formats: decide what a file is from its content and stage it with that format's reader.

DuckDB's own readers parse CSV, Parquet and JSON (nothing big passes through pandas);
Excel goes through python-calamine (cxdata/ingest/workbook.py).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import duckdb

from cxdata.errors import IngestError, Problem
from cxdata.ingest.csv_reader import stage_csv
from cxdata.ingest.readers import STAGE_TABLE, Staged, create_stage, header_problems
from cxdata.ingest.workbook import check_workbook, stage_xlsx


def sniff_format(path: Path) -> str:
    """Decide the format from the content, not the extension (which may lie)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if path.suffix.lower() == ".xlsx":
        return "xlsx"  # not a zip: the Excel reader says so
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def check_size(path: Path, name: str, max_mb: float) -> None:
    """Refuse a file over `max_mb` (setting max_file_mb) before anything reads it."""
    size = path.stat().st_size
    if max_mb > 0 and size > max_mb * 2**20:
        reason = (
            f"the file is {size / 2**20:,.0f} MB, more than the {max_mb:,.0f} MB limit "
            "(setting max_file_mb); nothing was read"
        )
        raise IngestError([Problem(name, None, None, None, reason)])


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    sheet: str | None = None,
    name: str | None = None,
    max_unpacked_mb: float = 0,
) -> Staged:
    """Stage `path` into the temp table STAGE_TABLE on `con`; raise IngestError if unreadable.

    `max_unpacked_mb` bounds what an .xlsx may unpack to (0: no bound)."""
    name = name or path.name
    if _blank(path):
        raise IngestError([Problem(name, None, None, None, "the file is empty")])
    con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}").fetchall()
    fmt = sniff_format(path)
    if fmt == "xlsx":
        check_workbook(path, name, max_unpacked_mb)
    readers = {"csv": stage_csv, "xlsx": stage_xlsx, "parquet": _stage_parquet}
    try:
        staged = readers.get(fmt, _stage_json)(con, path, name, sheet)
    except duckdb.Error as exc:
        message = _reader_message(fmt, exc, path, name)
        raise IngestError([Problem(name, None, None, None, message)]) from None
    problems = header_problems(name, staged.headers)
    if problems:
        raise IngestError(problems + staged.problems)
    if staged.rows == 0 and not staged.problems:
        raise IngestError([Problem(name, None, None, None, "the file contains no rows")])
    return staged


def _blank(path: Path) -> bool:
    """No bytes, or only white space (and a byte order mark) in a small file."""
    if path.stat().st_size > 4096:
        return False
    return not path.read_bytes().lstrip(codecs.BOM_UTF8).strip()


def _reader_message(fmt: str, exc: Exception, path: Path, name: str) -> str:
    """The reader's first line, naming the file as the user knows it (not a temp path)."""
    first = str(exc).splitlines()[0].replace(str(path), name)
    if "Error when sniffing" in first:
        first += " (no consistent delimiter and quoting found: check the quotes)"
    return f"cannot be read as {fmt.upper()}: {first}"


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None
) -> Staged:
    types, rows = create_stage(con, "read_parquet(?)", [str(path)])
    return Staged(name, "parquet", list(types), types, rows, first_row=1)


def _stage_json(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None
) -> Staged:
    types, rows = create_stage(con, "read_json(?, format = 'auto', sample_size = -1)", [str(path)])
    return Staged(name, "json", list(types), types, rows, first_row=1)
