"""Staging: what every reader shares to put a file into a table of trimmed text columns.

Every column is staged as text so one set of checks serves all formats and a bad value
is reported with what the user typed. A staged row's `rowid` plus `Staged.first_row` is
its row number as the user sees it in the file (the header is row 1 of a CSV or sheet);
`Staged.file_row` also skips rejected lines. The readers themselves live in csv_reader,
workbook and formats (which picks one).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import duckdb

from cxdata.errors import Problem

STAGE_TABLE = "cx_staged"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


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
            parts.append(f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated")
        parts.append(f"{self.rows:,} rows")
        return ", ".join(parts)


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


def create_stage(
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


def text_columns(types: dict[str, str], parsed: Collection[str] = ()) -> str:
    """The select list that turns a reader's columns into trimmed text, empty as NULL,
    with the export's formula guard undone (`unguard`, on values and headers).

    Done once here: every later check and insert reads plain columns, in the staging
    table and in the direct CSV path alike (cxdata/ingest/direct.py). Columns named in
    `parsed` (after `unguard`) stay as read: the direct path only parses them as a number
    or a timestamp, which any value the clean-up would change fails (sending the file to
    the staged path) or parses alike (the casts ignore spaces).
    """
    as_text = {
        h: f"{quote(h)} ->> '$'" if t == "JSON" else f"CAST({quote(h)} AS VARCHAR)"
        for h, t in types.items()
    }
    return ", ".join(
        f"{expr if unguard(h) in parsed else _clean(expr)} AS {quote(unguard(h))}"
        for h, expr in as_text.items()
    )


def _clean(expr: str) -> str:
    """`expr` trimmed, empty as NULL, unguarded, with the work done only where a cheap test
    says it can change something: DuckDB's trim strips spaces and Unicode space separators
    and costs ~4x a scan, but in ASCII it strips only ' ', and `length <> strlen`
    (characters vs bytes) finds every non-ASCII value. `< '!'` (empty, or a first byte up
    to the space) and `starts_with_ascii` compare the string's inlined prefix: the test
    costs half the old one of five calls (measured at 4M rows). One CASE, so that DuckDB
    (which does not share work between the branches of nested CASEs) tests each value once."""
    changes = (
        f"{expr} < '!' OR {starts_with_ascii(expr, APOSTROPHE)} OR ends_with({expr}, ' ') "
        f"OR length({expr}) <> strlen({expr})"
    )
    cleaned = unguard_sql(f"nullif(trim({expr}), {EMPTY})")
    return f"CASE WHEN {changes} THEN {cleaned} ELSE {expr} END"


def starts_with_ascii(expr: str, char: str) -> str:
    """`starts_with(expr, char)` for one printable ASCII character, as two comparisons
    (DuckDB compares strings bytewise, so these are exactly the values with that first
    byte): cheaper than the call on every row of a file."""
    assert len(char) == 1 and " " <= char < "~", char
    return f"({expr} >= {_literal(char)} AND {expr} < {_literal(chr(ord(char) + 1))})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


EMPTY = "''"  # the SQL literal of the empty string
APOSTROPHE = "'"
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
        f"CASE WHEN {starts_with_ascii(expr, APOSTROPHE)} "
        f"THEN regexp_replace({expr}, '{pattern}', '\\1') ELSE {expr} END"
    )


def quote(identifier: str) -> str:
    """Quote an identifier (column names come from files and may contain anything)."""
    return '"' + identifier.replace('"', '""') + '"'
