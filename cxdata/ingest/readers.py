"""Readers: put any supported file into a staging table of trimmed text columns.

DuckDB's own readers parse CSV, Parquet and JSON (nothing big passes through pandas);
Excel goes through python-calamine. Every column is staged as text so one set of checks
serves all formats and a bad value is reported with what the user typed. A staged row's
`rowid` plus `Staged.first_row` is its row number as the user sees it in the file (the
header is row 1 of a CSV or sheet); `Staged.file_row` also skips rejected lines.
"""

from __future__ import annotations

import codecs
import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxdata.ingest.problems import IngestError, Problem
from cxdata.store import scratch_dir_of

STAGE_TABLE = "cx_staged"
_REJECTS, _SCANS = "cx_rejects", "cx_reject_scans"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_CHUNK = 1 << 22


@dataclass
class Staged:
    """A file staged as text columns; `problems` holds what was wrong with its structure."""

    file: str
    format: str
    headers: list[str]
    source_types: dict[str, str]
    rows: int
    encoding: str | None = None
    delimiter: str | None = None
    problems: list[Problem] = field(default_factory=list)
    first_row: int = 2
    skipped_lines: list[int] = field(default_factory=list)

    def file_row(self, position: int) -> int:
        """Row number in the file of the staged row at `position` (its rowid).

        Rows after a line the CSV reader rejected move down by one per rejected line.
        """
        row = position + self.first_row
        for line in self.skipped_lines:
            if line <= row:
                row += 1
        return row

    def describe(self) -> str:
        """One line for the preview: format, encoding, delimiter, rows."""
        parts = [self.format.upper()]
        if self.encoding:
            parts.append(self.encoding)
        if self.delimiter:
            parts.append(f"{_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated")
        parts.append(f"{self.rows:,} rows")
        return ", ".join(parts)


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


def stage_file(
    con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None, name: str | None = None
) -> Staged:
    """Stage `path` into the temp table STAGE_TABLE on `con`; raise IngestError if unreadable."""
    name = name or path.name
    if path.stat().st_size == 0:
        raise IngestError([Problem(name, None, None, None, "the file is empty")])
    con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}").fetchall()
    fmt = sniff_format(path)
    readers = {"csv": _stage_csv, "xlsx": _stage_xlsx, "parquet": _stage_parquet}
    try:
        staged = readers.get(fmt, _stage_json)(con, path, name, sheet)
    except duckdb.Error as exc:
        raise IngestError([Problem(name, None, None, None, _reader_message(fmt, exc))]) from None
    if staged.rows == 0 and not staged.problems:
        raise IngestError([Problem(name, None, None, None, "the file contains no rows")])
    return staged


def _reader_message(fmt: str, exc: Exception) -> str:
    first = str(exc).splitlines()[0]
    return f"cannot be read as {fmt.upper()}: {first}"


def _create_stage(
    con: duckdb.DuckDBPyConnection, source_sql: str, params: list[Any] | dict[str, Any]
) -> tuple[dict[str, str], int]:
    """CTAS the staging table (all text) from a reader; returns source types and row count.

    DuckDB keeps insertion order, so a staged row's `rowid` is its position in the file.
    """
    types = source_types(con, source_sql, params)
    cols = text_columns(types)
    con.execute(f"CREATE TEMP TABLE {STAGE_TABLE} AS SELECT {cols} FROM {source_sql}", params)
    (count,) = con.execute(f"SELECT count(*) FROM {STAGE_TABLE}").fetchall()[0]
    return types, int(count)


def source_types(
    con: duckdb.DuckDBPyConnection, source_sql: str, params: list[Any] | dict[str, Any]
) -> dict[str, str]:
    """Header -> type of a reader's columns (DESCRIBE runs the reader's sniffer only)."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source_sql}", params).fetchall()
    return {str(r[0]): str(r[1]) for r in described}


def text_columns(types: dict[str, str]) -> str:
    """The select list that turns a reader's columns into trimmed text, empty as NULL.

    Trimmed once here: every later check and insert reads plain columns, in the staging
    table and in the direct CSV path alike (cxdata/ingest/direct.py).
    """
    as_text = {
        h: f"{quote(h)} ->> '$'" if t == "JSON" else f"CAST({quote(h)} AS VARCHAR)"
        for h, t in types.items()
    }
    return ", ".join(f"nullif({_trimmed(expr)}, '') AS {quote(h)}" for h, expr in as_text.items())


def _trimmed(expr: str) -> str:
    """trim(expr), calling trim only where it can change something: DuckDB's trim strips
    spaces and Unicode space separators and costs ~4x a scan, but in ASCII it strips only
    ' ', and `length <> strlen` (characters vs bytes) finds every non-ASCII value."""
    return (
        f"CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') "
        f"OR length({expr}) <> strlen({expr}) THEN trim({expr}) ELSE {expr} END"
    )


def quote(identifier: str) -> str:
    """Quote an identifier (column names come from files and may contain anything)."""
    return '"' + identifier.replace('"', '""') + '"'


# -- CSV -------------------------------------------------------------------------------


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None) -> Staged:
    encoding = _bom_encoding(path)
    scratch = scratch_dir_of(con)  # where DuckDB may read a decoded copy (also sandboxed)
    with _utf8_copy(path, encoding, scratch) as (readable, label):
        staged = _read_csv(con, readable, name, label)
        if encoding is None and _has_encoding_rejects(staged):
            legacy = _legacy_encoding(path)
            if legacy:
                con.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}").fetchall()
                with _utf8_copy(path, legacy, scratch) as (copy, label2):
                    return _read_csv(con, copy, name, label2)
    return staged


def _bom_encoding(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


@contextmanager
def _utf8_copy(path: Path, encoding: str | None, scratch: Path) -> Iterator[tuple[Path, str]]:
    """The file as UTF-8: itself when it is (or claims to be) UTF-8, else a decoded copy."""
    if encoding in (None, "utf-8-sig"):
        yield path, "UTF-8 with BOM" if encoding else "UTF-8"
        return
    assert encoding is not None
    labels = {"utf-16": "UTF-16", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cxdata-", dir=scratch) as tmp:
        copy = Path(tmp) / "decoded.csv"
        with (
            path.open("r", encoding=encoding, newline="") as src,
            copy.open("w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
        yield copy, labels[encoding]


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, encoding: str) -> Staged:
    delimiter = sniff_delimiter(con, path)
    types, rows = _create_stage(con, CSV_SOURCE, csv_params(path, delimiter))
    rejects = con.execute(
        f"""SELECT line, arg_min(column_name, column_idx), min(error_type), min(csv_line)
            FROM {_REJECTS} GROUP BY line ORDER BY line"""
    ).fetchall()
    problems = [
        Problem(name, int(line), col, None, _reject_reason(err, text))
        for line, col, err, text in rejects
    ]
    skipped = [int(r[0]) for r in rejects]
    return Staged(name, "csv", list(types), types, rows, encoding, delimiter, problems, 2, skipped)


CSV_SOURCE = (
    "read_csv($csv_path, header = true, all_varchar = true, delim = $csv_delim, "
    f"store_rejects = true, rejects_table = '{_REJECTS}', rejects_scan = '{_SCANS}')"
)
"""The CSV reader (parameters: `csv_params`): every column as text, bad lines into the
rejects table instead of an error."""


def csv_params(path: Path, delimiter: str) -> dict[str, Any]:
    """The named parameters of CSV_SOURCE."""
    return {"csv_path": str(path), "csv_delim": delimiter}


def utf8_label(path: Path) -> str | None:
    """How a CSV that DuckDB reads as it is (UTF-8, with or without BOM) is described;
    None when it must be decoded to a UTF-8 copy first (UTF-16)."""
    return {None: "UTF-8", "utf-8-sig": "UTF-8 with BOM"}.get(_bom_encoding(path))


def sniff_delimiter(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The delimiter DuckDB's sniffer finds (comma if none); clears the rejects tables."""
    con.execute(f"DROP TABLE IF EXISTS {_REJECTS}; DROP TABLE IF EXISTS {_SCANS}")
    sniffed = con.execute(
        "SELECT Delimiter FROM sniff_csv(?, ignore_errors = true)", [str(path)]
    ).fetchone()
    return str(sniffed[0]) if sniffed else ","


def rejected_lines(con: duckdb.DuckDBPyConnection) -> int:
    """How many lines the last CSV read rejected."""
    row = con.execute(f"SELECT count(*) FROM {_REJECTS}").fetchone()
    return int(row[0]) if row else 0


def _reject_reason(error_type: str, line_text: str | None) -> str:
    reasons = {
        "TOO MANY COLUMNS": "the row has more fields than the header (check delimiter and quotes)",
        "MISSING COLUMNS": "the row has fewer fields than the header",
        "INVALID ENCODING": "undecodable bytes: the row is not valid UTF-8",
        "UNQUOTED VALUE": "a quote is not closed or a value is not quoted properly",
        "LINE SIZE OVER MAXIMUM": "the line is too long (is the file really CSV?)",
        "CAST": "a value has the wrong type",
    }
    return reasons.get(error_type, f"unreadable row ({error_type.lower()})")


def _has_encoding_rejects(staged: Staged) -> bool:
    return any(p.reason.startswith("undecodable bytes") for p in staged.problems)


def _legacy_encoding(path: Path) -> str | None:
    """Windows-1252 when no valid multi-byte UTF-8 appears at all; else the file is
    UTF-8 with a few broken bytes, which are reported instead of guessed around."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            text = decoder.decode(chunk)
            if any(ord(ch) > 127 and ch != "\ufffd" for ch in text):
                return None
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_CHUNK):
                chunk.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
    return "cp1252"


# -- Excel, Parquet, JSON -------------------------------------------------------------------


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, name: str, sheet: str | None) -> Staged:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        if sheet is not None and sheet not in names:
            raise IngestError(
                [Problem(name, None, None, sheet, f"no such sheet; the workbook has {names}")]
            )
        ws = book.get_sheet_by_name(sheet or names[0])
        rows = ws.to_python(skip_empty_area=False)
    except IngestError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        reason = f"cannot be read as an Excel workbook: {str(exc).splitlines()[0]}"
        raise IngestError([Problem(name, None, None, None, reason)]) from None
    if not rows:
        raise IngestError([Problem(name, None, None, None, "the sheet is empty")])
    headers = [_cell_text(h) or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    body = [[_cell_text(v) for v in row] for row in rows[1:]]
    table = pa.table(
        {
            h: pa.array([r[i] if i < len(r) else None for r in body], pa.string())
            for i, h in enumerate(dict.fromkeys(headers))
        }
    )
    con.register("cx_sheet", table)
    try:
        types, count = _create_stage(con, "cx_sheet", [])
    finally:
        con.unregister("cx_sheet")
    return Staged(name, "xlsx", list(types), types, count)


def _cell_text(value: Any) -> str | None:
    """Excel cells as text the way the user sees them: 12.0 -> '12', dates in ISO."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None
) -> Staged:
    types, rows = _create_stage(con, "read_parquet(?)", [str(path)])
    return Staged(name, "parquet", list(types), types, rows, first_row=1)


def _stage_json(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None
) -> Staged:
    types, rows = _create_stage(con, "read_json(?, format = 'auto', sample_size = -1)", [str(path)])
    return Staged(name, "json", list(types), types, rows, first_row=1)
