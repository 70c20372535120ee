"""CSV: decode to UTF-8 if needed, sniff delimiter and quoting, stage with DuckDB's reader.

Lines the reader rejects become problems with their line number instead of an error;
the direct path (cxdata/ingest/direct.py) reuses the sniffing and the reader call.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from cxdata.errors import IngestError, Problem
from cxdata.ingest.readers import (
    DELIMITER_NAMES,
    STAGE_TABLE,
    Staged,
    create_stage,
    duplicate_headers,
    quote,
    unnamed_columns,
)
from cxdata.store import scratch_dir_of
from cxdata.store.scratch import DECODED_PREFIX, scratch_copy

_REJECTS, _SCANS = "cx_rejects", "cx_reject_scans"
_CHUNK = 1 << 22


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, _sheet: str | None) -> Staged:
    """Stage a CSV; without a BOM, bytes that are not UTF-8 anywhere in the file make it
    read again as Windows-1252 or Latin-1 (`_legacy_encoding`)."""
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
    with scratch_copy(scratch, DECODED_PREFIX) as tmp:  # removed at the end, even after a kill
        copy = tmp / "decoded.csv"
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
    types, rows = create_stage(con, csv_source(newline), csv_params(path, delimiter))
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
    counts = {d: header.count(d) for d in DELIMITER_NAMES}
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
