"""Excel: check an .xlsx before unpacking it, then stage one sheet via python-calamine."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cxdata.errors import IngestError, Problem
from cxdata.ingest.readers import Staged, create_stage, duplicate_headers, unnamed_columns


def stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, name: str, sheet: str | None) -> Staged:
    """Stage one sheet (the first unless `sheet` names one), every cell as its text;
    `check_workbook` has already vetted the archive."""
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
        types, count = create_stage(con, "cx_sheet", [])
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
