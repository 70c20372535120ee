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
import re
import tempfile
import zipfile
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
    readers = {"csv": _stage_csv, "xlsx": _stage_xlsx, "parquet": _stage_parquet}
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


def header_problems(name: str, headers: list[str]) -> list[Problem]:
    """Headers the engine cannot hold apart: `rowid` (DuckDB's row number) is reserved.

    Duplicates are found on the raw header row by each reader, before renaming."""
    return [
        Problem(name, 1, h, None, "a column named rowid is reserved by the database; rename it")
        for h in headers
        if h.lower() == "rowid"
    ]


def duplicate_headers(name: str, raw: list[str | None]) -> list[Problem]:
    """Two columns with one header (compared case-insensitively, as SQL does) are an
    error: which one is meant cannot be guessed, and renaming one would hide it."""
    seen: dict[str, list[int]] = {}
    for i, header in enumerate(raw):
        if header is not None and header.strip():
            seen.setdefault(header.strip().lower(), []).append(i + 1)
    return [
        Problem(
            name,
            1,
            raw[cols[0] - 1],
            None,
            f"the header appears more than once (columns {', '.join(map(str, cols))}); "
            "rename or remove the copies",
        )
        for cols in seen.values()
        if len(cols) > 1
    ]


def unnamed_columns(
    con: duckdb.DuckDBPyConnection, name: str, raw: list[str | None], staged_names: list[str]
) -> list[Problem]:
    """A column without a header but with values would be stored under an invented name:
    an error. Without values (a trailing delimiter) it is harmless and ignored."""
    unnamed = [
        (i, staged_names[i])
        for i, h in enumerate(raw)
        if (h is None or not h.strip()) and i < len(staged_names)
    ]
    if not unnamed:
        return []
    counts = con.execute(
        f"SELECT {', '.join(f'count({quote(c)})' for _, c in unnamed)} FROM {STAGE_TABLE}"
    ).fetchone()
    return [
        Problem(
            name,
            1,
            f"column {i + 1}",
            None,
            f"the column has no header but holds {n} values; name it or delete it",
        )
        for (i, _), n in zip(unnamed, counts or (), strict=True)
        if n
    ]


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
    return unguarded(types), int(count)


def unguarded(types: dict[str, str]) -> dict[str, str]:
    """Header -> type, under the names `text_columns` gives the columns."""
    return {unguard(h): t for h, t in types.items()}


def source_types(
    con: duckdb.DuckDBPyConnection, source_sql: str, params: list[Any] | dict[str, Any]
) -> dict[str, str]:
    """Header -> type of a reader's columns (DESCRIBE runs the reader's sniffer only)."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source_sql}", params).fetchall()
    return {str(r[0]): str(r[1]) for r in described}


def text_columns(types: dict[str, str]) -> str:
    """The select list that turns a reader's columns into trimmed text, empty as NULL,
    with the export's formula guard undone (`unguard`, on values and headers).

    Done once here: every later check and insert reads plain columns, in the staging
    table and in the direct CSV path alike (cxdata/ingest/direct.py).
    """
    as_text = {
        h: f"{quote(h)} ->> '$'" if t == "JSON" else f"CAST({quote(h)} AS VARCHAR)"
        for h, t in types.items()
    }
    return ", ".join(
        f"{unguard_sql(f'nullif({_trimmed(expr)}, {EMPTY})')} AS {quote(unguard(h))}"
        for h, expr in as_text.items()
    )


def _trimmed(expr: str) -> str:
    """trim(expr), calling trim only where it can change something: DuckDB's trim strips
    spaces and Unicode space separators and costs ~4x a scan, but in ASCII it strips only
    ' ', and `length <> strlen` (characters vs bytes) finds every non-ASCII value."""
    return (
        f"CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') "
        f"OR length({expr}) <> strlen({expr}) THEN trim({expr}) ELSE {expr} END"
    )


EMPTY = "''"  # the SQL literal of the empty string
APOSTROPHE = "'" * 4  # the SQL literal of one apostrophe
GUARDED = re.compile("^'(?='*[=+@\t\r-])")
"""One apostrophe in front of (apostrophes and) a formula start: the export's guard."""


def unguard(text: str) -> str:
    """Undo one formula guard: cxdata's exports put an apostrophe before text that starts
    like a spreadsheet formula (cxdata.export.guard), so `'=x` reads back as `=x` and
    `''=x` as `'=x`. Text without the pattern is unchanged."""
    return text[1:] if GUARDED.match(text) else text


def unguard_sql(expr: str) -> str:
    """`unguard` in the engine: a cheap `starts_with` first, the pattern only then."""
    pattern = "^'('*[=+@\t\r-])".replace("'", "''")
    return (
        f"CASE WHEN starts_with({expr}, {APOSTROPHE}) "
        f"THEN regexp_replace({expr}, '{pattern}', '\\1') ELSE {expr} END"
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
    # UTF-16 without a BOM: ASCII text has a zero byte in every other place.
    if len(head) == 4 and head[1] == head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) == 4 and head[0] == head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return None


@contextmanager
def _utf8_copy(path: Path, encoding: str | None, scratch: Path) -> Iterator[tuple[Path, str]]:
    """The file as UTF-8: itself when it is (or claims to be) UTF-8, else a decoded copy."""
    if encoding in (None, "utf-8-sig"):
        yield path, "UTF-8 with BOM" if encoding else "UTF-8"
        return
    assert encoding is not None
    labels = {
        "utf-16": "UTF-16",
        "utf-16-le": "UTF-16 (little-endian, no BOM)",
        "utf-16-be": "UTF-16 (big-endian, no BOM)",
        "cp1252": "Windows-1252",
        "latin-1": "Latin-1",
    }
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cxdata-", dir=scratch) as tmp:
        copy = Path(tmp) / "decoded.csv"
        with path.open("rb") as src, copy.open("w", encoding="utf-8", newline="") as dst:
            _decode_into(src, dst, encoding, labels[encoding], path.name)
        yield copy, labels[encoding]


def _decode_into(src: Any, dst: Any, encoding: str, label: str, name: str) -> None:
    """Decode chunk by chunk; bytes that are not `encoding` stop it with their row number."""
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = 0
    while True:
        chunk = src.read(_CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            done = decoder.decode(exc.object[: exc.start]) if exc.start else ""
            row = newlines + done.count("\n") + 1
            reason = f"undecodable bytes: the row is not valid {label} ({exc.reason})"
            raise IngestError([Problem(name, row, None, None, reason)]) from None
        newlines += text.count("\n")
        dst.write(text)
        if not chunk:
            return


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, encoding: str) -> Staged:
    delimiter, quote_char, newline = sniff_csv(con, path)
    raw = raw_header(con, path, delimiter, newline)
    duplicates = duplicate_headers(name, raw)
    if duplicates:
        raise IngestError(duplicates)
    types, rows = _create_stage(con, csv_source(newline), csv_params(path, delimiter))
    rejects = con.execute(
        f"""SELECT line, arg_min(column_name, column_idx), min(error_type), min(csv_line)
            FROM {_REJECTS} GROUP BY line ORDER BY line"""
    ).fetchall()
    problems = [
        Problem(name, int(line), col, None, _reject_reason(err, text))
        for line, col, err, text in rejects
    ]
    skipped = [int(r[0]) for r in rejects]
    staged = Staged(
        name, "csv", list(types), types, rows, encoding, delimiter, problems, 2, skipped
    )
    staged.problems += unnamed_columns(con, name, raw, staged.headers)
    if quote_char in ("", "(empty)"):
        staged.problems += _unclosed_quotes(con, staged)
    return staged


def _sniff(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, str, str]:
    """Delimiter, quote and an extra read_csv option for the row ending.

    A header cell with a line break in it (Excel's Alt+Enter writes a bare LF; its CSV rows
    end in CRLF) makes DuckDB's sniffer fail unless told that rows end in CRLF."""
    sql = "SELECT Delimiter, Quote FROM sniff_csv(?, ignore_errors = true{})"
    for newline in ("", CRLF_OPTION):
        try:
            sniffed = con.execute(sql.format(newline), [str(path)]).fetchone()
        except duckdb.Error as exc:
            if newline or not _crlf_may_help(exc, path):
                raise
            continue
        delimiter = _header_delimiter(path, str(sniffed[0]) if sniffed else ",")
        if not newline:
            try:  # the reader sniffs again, now with the delimiter fixed
                con.execute(
                    "DESCRIBE SELECT * FROM read_csv(?, header = true, delim = ?)",
                    [str(path), delimiter],
                )
            except duckdb.Error as exc:
                if _crlf_may_help(exc, path):
                    continue
        return delimiter, str(sniffed[1]) if sniffed else '"', newline
    raise AssertionError("unreachable: the second pass returns or raises")


def _crlf_may_help(exc: Exception, path: Path) -> bool:
    with path.open("rb") as fh:
        return "Error when sniffing" in str(exc) and b"\r\n" in fh.read(1 << 16)


CRLF_OPTION = ", new_line = '\\r\\n'"


def _header_delimiter(path: Path, sniffed: str) -> str:
    """The sniffer's delimiter, unless the header line does not contain it while it
    contains another candidate: DuckDB's sniffer can pick `|` for a comma file whose rows
    hold quoted line breaks and many empty fields; headers rarely hold delimiters."""
    with path.open("rb") as fh:
        header = fh.readline(1 << 16).decode("utf-8", errors="replace")
    counts = {d: header.count(d) for d in _DELIMITER_NAMES}
    best = max(counts, key=lambda d: counts[d])
    return best if counts.get(sniffed, 0) == 0 and counts[best] > 0 else sniffed


def _unclosed_quotes(
    con: duckdb.DuckDBPyConnection, staged: Staged, limit: int = 1000
) -> list[Problem]:
    """When quotes do not pair up, DuckDB's sniffer reads the file without quoting and a
    quote stays in the value: every value starting with one is reported, not stored."""
    if not staged.headers:
        return []
    found = " UNION ALL ".join(
        f"SELECT rowid AS pos, ? AS col, {quote(h)} AS val FROM {STAGE_TABLE} "
        f"WHERE starts_with({quote(h)}, '\"')"
        for h in staged.headers
    )
    rows = con.execute(f"{found} ORDER BY pos LIMIT {int(limit)}", staged.headers).fetchall()
    reason = "a quote is not closed (the file's quotes do not pair up, so none were read)"
    return [Problem(staged.file, staged.file_row(int(p)), c, v, reason) for p, c, v in rows]


def csv_source(newline: str = "") -> str:
    """The CSV reader (parameters: `csv_params`): every column as text, bad lines into the
    rejects table instead of an error; `newline` is `sniff_csv`'s row-ending option."""
    return (
        "read_csv($csv_path, header = true, all_varchar = true, delim = $csv_delim, "
        f"store_rejects = true, rejects_table = '{_REJECTS}', rejects_scan = '{_SCANS}'"
        f"{newline})"
    )


def csv_params(path: Path, delimiter: str) -> dict[str, Any]:
    """The named parameters of `csv_source`."""
    return {"csv_path": str(path), "csv_delim": delimiter}


def raw_header(
    con: duckdb.DuckDBPyConnection, path: Path, delimiter: str, newline: str
) -> list[str | None]:
    """The header row as written (the reader renames duplicate and empty headers)."""
    raw_row = con.execute(
        "SELECT * FROM read_csv(?, header = false, all_varchar = true, delim = ?, "
        f"ignore_errors = true{newline}) LIMIT 1",
        [str(path), delimiter],
    ).fetchone()
    return [None if v is None else str(v) for v in raw_row or ()]


def utf8_label(path: Path) -> str | None:
    """How a CSV that DuckDB reads as it is (UTF-8, with or without BOM) is described;
    None when it must be decoded to a UTF-8 copy first (UTF-16)."""
    return {None: "UTF-8", "utf-8-sig": "UTF-8 with BOM"}.get(_bom_encoding(path))


def sniff_csv(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[str, str, str]:
    """Delimiter, quote and row-ending option (`_sniff`); clears the rejects tables."""
    con.execute(f"DROP TABLE IF EXISTS {_REJECTS}; DROP TABLE IF EXISTS {_SCANS}")
    return _sniff(con, path)


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
    raw = [_cell_text(h) for h in rows[0]]
    duplicates = duplicate_headers(name, raw)
    if duplicates:
        raise IngestError(duplicates)
    headers = [h.strip() if h and h.strip() else f"column_{i + 1}" for i, h in enumerate(raw)]
    body = [[_cell_text(v) for v in row] for row in rows[1:]]
    table = pa.table(
        {
            h: pa.array([r[i] if i < len(r) else None for r in body], pa.string())
            for i, h in enumerate(headers)
        }
    )
    con.register("cx_sheet", table)
    try:
        types, count = _create_stage(con, "cx_sheet", [])
    finally:
        con.unregister("cx_sheet")
    problems = unnamed_columns(con, name, raw, headers)
    return Staged(name, "xlsx", list(types), types, count, problems=problems)


def check_workbook(path: Path, name: str, max_unpacked_mb: float) -> None:
    """Deterministic checks before any part of an .xlsx is unpacked.

    An .xlsx is a zip archive. Its central directory declares every part's unpacked
    size, and the Excel reader (calamine's zip crate) stops a part that inflates past its
    declared size, so summing the declared sizes bounds memory: a decompression bomb is
    refused without inflating it. XML parts must not declare a DTD (Excel never writes
    one; it is how entity-expansion attacks start); only each part's first 4 KB is read.
    """
    if not zipfile.is_zipfile(path):
        reason = "is not an Excel workbook: an .xlsx file is a zip archive, this one is not"
        raise IngestError([Problem(name, None, None, None, reason)])
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            unpacked = sum(i.file_size for i in infos)
            if max_unpacked_mb > 0 and unpacked > max_unpacked_mb * 2**20:
                ratio = unpacked / max(1, path.stat().st_size)
                reason = (
                    f"the workbook would unpack to {unpacked / 2**20:,.0f} MB ({ratio:,.0f} "
                    f"times its size), more than the {max_unpacked_mb:,.0f} MB limit (setting "
                    "max_unpacked_mb): refused unopened, it may be a decompression bomb"
                )
                raise IngestError([Problem(name, None, None, None, reason)])
            for info in infos:
                if info.filename.endswith((".xml", ".rels")):
                    with archive.open(info) as part:
                        head = part.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        reason = (
                            f"part {info.filename} declares a DTD or XML entities, which "
                            "Excel never writes: refused (XML entity expansion)"
                        )
                        raise IngestError([Problem(name, None, None, None, reason)])
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        reason = f"cannot be read as an Excel workbook: broken zip archive ({exc})"
        raise IngestError([Problem(name, None, None, None, reason)]) from None


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
