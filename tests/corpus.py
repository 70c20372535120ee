"""The bad-input corpus: every case is built into a folder by code (no binary fixtures),
with what must happen to it: refused with these (row, column, reason) problems, or
imported with exactly these stored values.

`build_corpus(folder)` writes every file; `tests/test_bad_input.py` runs each one against
a store and checks the outcome, that a refused file leaves the store unchanged and that
the process goes on working. `python -m tests.corpus DIR` writes the files for a look.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "customer_id,stage,score"
BOMB_UNPACKED_MB = 2048


@dataclass(frozen=True)
class Refused:
    """Every problem, as (row, column, fragment of the reason); rows/columns None when the
    problem is about the whole file."""

    problems: tuple[tuple[int | None, str | None, str], ...]


@dataclass(frozen=True)
class Imported:
    """Stored observations in file order: {column: values}; attributes: {name: [values]}."""

    rows: int
    observations: dict[str, list[Any]] = field(default_factory=dict)
    attributes: dict[str, list[str]] | None = None
    description: str = ""


@dataclass(frozen=True)
class Case:
    name: str  # the file name, also the test id
    category: str
    build: Callable[[Path], None]  # writes the file `name` into the folder
    expect: Refused | Imported
    known_bug: str = ""  # a documented, not yet fixed defect (the test is strict xfail)


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _text(text: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return _bytes(text.encode(encoding))


CASES: list[Case] = []


def case(name: str, category: str, build: Callable[[Path], None], expect: Any, bug: str = ""):
    CASES.append(Case(name, category, build, expect, bug))


def refused(*problems: tuple[int | None, str | None, str]) -> Refused:
    return Refused(tuple(problems))


# -- encodings --------------------------------------------------------------------------------
GOOD = "customer_id,stage,score,note\nC1,Usage,1,Grüße\nC2,Delivery,-2,spät\n"
GOOD_ROWS = {"customer_id": ["C1", "C2"], "score": [1.0, -2.0], "note": ["Grüße", "spät"]}
case(
    "invalid_utf8_byte.csv",
    "encoding",
    _bytes("customer_id,stage,score,note\nC1,Usage,1,Grüße\n".encode() + b"C2,Usage,1,sp\xe4t\n"),
    refused((3, "note", "undecodable bytes: the row is not valid UTF-8")),
)
case(
    "windows_1252.csv",
    "encoding",
    _text(GOOD, "cp1252"),
    Imported(2, GOOD_ROWS, None, "Windows-1252"),
)
case("utf16_le_bom.csv", "encoding", _text(GOOD, "utf-16"), Imported(2, GOOD_ROWS, None, "UTF-16"))
case(
    "utf16_be_bom.csv",
    "encoding",
    _bytes(b"\xfe\xff" + GOOD.encode("utf-16-be")),
    Imported(2, GOOD_ROWS, None, "UTF-16"),
)
case(
    "utf16_le_no_bom.csv",
    "encoding",
    _text(GOOD, "utf-16-le"),
    Imported(2, GOOD_ROWS, None, "no BOM"),
)
case(
    "utf16_truncated.csv",
    "encoding",
    _bytes(GOOD.encode("utf-16") + b"C"),
    refused((4, None, "not valid UTF-16 (truncated data)")),
)
case(
    "utf16_lone_surrogate.csv",
    "encoding",
    _bytes(GOOD.encode("utf-16") + "C3,Usage,1,".encode("utf-16-le") + b"\x00\xd8\n\x00"),
    refused((4, None, "not valid UTF-16 (illegal UTF-16 surrogate)")),
)
case(
    "nul_byte_in_value.csv",
    "encoding",
    _bytes(b"customer_id,stage,score\nC1,Us\x00age,1\n"),
    Imported(1, {"stage": ["Us\x00age"]}),
)
case(
    "binary_garbage.csv",
    "encoding",
    _bytes(bytes(range(256)) * 16),
    refused((None, None, "cannot be read as CSV")),
)

# -- byte order marks -------------------------------------------------------------------------
case(
    "bom_semicolon.csv",
    "bom",
    _text(GOOD.replace(",", ";"), "utf-8-sig"),
    Imported(2, GOOD_ROWS, None, "UTF-8 with BOM, semicolon-separated"),
)
case("bom_only.csv", "bom", _bytes(b"\xef\xbb\xbf"), refused((None, None, "the file is empty")))
case(
    "bom_header_only.csv",
    "bom",
    _text(HEADER + "\n", "utf-8-sig"),
    refused((None, None, "contains no rows")),
)

# -- delimiters -------------------------------------------------------------------------------
for delim, label in [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]:
    body = GOOD.replace(",", delim)
    case(f"delimiter_{label}.csv", "delimiter", _text(body), Imported(2, GOOD_ROWS, None, label))
case(
    "single_column.csv",
    "delimiter",
    _text("customer_id\nC1\n"),
    refused(
        (1, "stage", "required column stage is missing"), (1, "score", "required column score")
    ),
)

# -- ragged rows ------------------------------------------------------------------------------
case(
    "ragged_rows.csv",
    "ragged",
    _text(HEADER + "\nC1,Usage,1\nC2,Usage,1,extra\nC3,Usage\nC4,Usage,x\n"),
    refused(
        (3, None, "more fields than the header"),
        (4, "score", "fewer fields than the header"),
        (5, "score", "score is not a number"),
    ),
)
case(
    "trailing_delimiter.csv",
    "ragged",
    _text(HEADER + ",\nC1,Usage,1,\nC2,Usage,2,\n"),
    Imported(2, {"customer_id": ["C1", "C2"]}, {}),
)
case(
    "blank_line_inside.csv",
    "ragged",
    _text(HEADER + "\nC1,Usage,1\n\nC2,Usage,x\n"),
    refused((4, "score", "score is not a number")),
    bug="DuckDB's CSV reader skips blank lines without a trace, so rows after one are "
    "numbered one too low (row 3 instead of 4)",
)
case(
    "quoted_newline.csv",
    "ragged",
    _text('customer_id,stage,score,note\nC1,Usage,1,"two\nlines"\nC2,Usage,x,n\n'),
    refused((3, "score", "score is not a number")),  # row 3 as a spreadsheet shows it
)

# -- quotes -----------------------------------------------------------------------------------
case(
    "unclosed_quote_last_row.csv",
    "quotes",
    _text('customer_id,stage,score,note\nC1,Usage,1,ok\nC2,Usage,2,"never closed\n'),
    refused((3, "note", "a quote is not closed")),
)
case(
    "unclosed_quote_with_quoted_commas.csv",
    "quotes",
    _text('customer_id,stage,score,note\nC1,Usage,1,"a, b"\nC2,Usage,2,"open\nC3,Usage,3,x\n'),
    refused((2, None, "more fields than the header"), (3, "note", "a quote is not closed")),
)
case(
    "stray_quote_inside_value.csv",
    "quotes",
    _text('customer_id,stage,score,note\nC1,Usage,1,5" screen\n'),
    Imported(1, {"note": ['5" screen']}),
)

# -- the score column -------------------------------------------------------------------------
case(
    "score_mixed_types.csv",
    "score",
    _text(
        HEADER + '\nC1,Usage,1\nC2,Usage,sehr gut\nC3,Usage,"1,5"\nC4,Usage,\nC5,Usage,1.000,5\n'
        "C6,Usage,0x1\nC7,Usage,2.5%\nC8,Usage,1e0\n"
    ),
    refused(
        (3, "score", "score is not a number"),
        (5, "score", "score is empty"),
        (6, None, "more fields than the header"),
        (7, "score", "score is not a number"),
        (8, "score", "score is not a number"),
    ),
)
case(
    "score_out_of_scale.csv",
    "score",
    _text(HEADER + "\nC1,Usage,4\nC2,Usage,-3.5\nC3,Usage,NaN\nC4,Usage,inf\nC5,Usage,1e400\n"),
    refused(*((row, "score", "outside the scale -3..3") for row in range(2, 7))),
)
case(
    "score_decimal_comma.csv",
    "score",
    _text('customer_id;stage;score\nC1;Usage;"-1,5"\nC2;Usage;2,25\nC3;Usage; 3 \n'),
    Imported(3, {"score": [-1.5, 2.25, 3.0]}),
)
case(
    "score_mixed_types.json",
    "score",
    _text(
        json.dumps(
            [
                {"customer_id": "C1", "stage": "Usage", "score": 1},
                {"customer_id": "C2", "stage": "Usage", "score": "zwei"},
                {"customer_id": "C3", "stage": "Usage", "score": None},
                {"customer_id": "C4", "stage": "Usage", "score": True},
                {"customer_id": "C5", "stage": "Usage", "score": [1]},
                {"customer_id": "C6", "stage": "Usage", "score": 99},
            ]
        )
    ),
    refused(
        (2, "score", "score is not a number"),
        (3, "score", "score is empty"),
        (4, "score", "score is not a number"),
        (5, "score", "score is not a number"),
        (6, "score", "outside the scale"),
    ),
)

# -- headers ----------------------------------------------------------------------------------
case(
    "no_header_row.csv",
    "headers",
    _text("C1,Usage,1\nC2,Usage,2\n"),
    refused(
        (1, "customer_id", "required column customer_id is missing (headers: C1, Usage, 1)"),
        (1, "stage", "required column stage is missing"),
        (1, "score", "required column score is missing"),
    ),
)
case(
    "missing_score_column.csv",
    "headers",
    _text("customer_id,stage,note\nC1,Usage,x\n"),
    refused((1, "score", "required column score is missing")),
)
case(
    "duplicated_header.csv",
    "headers",
    _text("customer_id,stage,score,customer_id\nC1,Usage,1,C2\n"),
    refused((1, "customer_id", "appears more than once (columns 1, 4)")),
)
case(
    "duplicated_header_case.csv",
    "headers",
    _text("customer_id,stage,score,Age,age\nC1,Usage,1,30,31\n"),
    refused((1, "Age", "appears more than once (columns 4, 5)")),
)
case(
    "two_customer_columns.csv",
    "headers",
    _text("Kunde,customer_id,stage,score\nC1,C1,Usage,1\n"),
    refused((None, "Kunde, customer_id", "several columns look like customer_id")),
)
case(
    "empty_header_with_values.csv",
    "headers",
    _text("customer_id,,stage,score\nC1,secret,Usage,1\n"),
    refused((1, "column 2", "no header but holds 1 values")),
)
case(
    "header_with_line_break.csv",
    "headers",
    _text('customer_id,stage,score,"Visit\n(minutes)"\r\nC1,Usage,1,12\r\nC2,Usage,2,7\r\n'),
    Imported(2, {"customer_id": ["C1", "C2"]}, {"Visit\n(minutes)": ["12", "7"]}),
)
case(
    "rowid_header.csv",
    "headers",
    _text("customer_id,stage,score,rowid\nC1,Usage,1,17\n"),
    refused((1, "rowid", "reserved")),
)


def _xlsx(rows: list[list[Any]]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        import openpyxl

        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        for cells in book.active.iter_rows():
            for cell in cells:  # text that looks like a formula stays text, as typed
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        book.save(path)

    return build


case(
    "duplicated_header.xlsx",
    "headers",
    _xlsx([["customer_id", "stage", "score", "stage"], ["C1", "Usage", 1, "Kauf"]]),
    refused((1, "stage", "appears more than once (columns 2, 4)")),
)
case(
    "empty_header_with_values.xlsx",
    "headers",
    _xlsx([["customer_id", None, "stage", "score"], ["C1", "secret", "Usage", 1]]),
    refused((1, "column 2", "no header but holds 1 values")),
)

# -- empty and header-only files --------------------------------------------------------------
case("empty.csv", "empty", _bytes(b""), refused((None, None, "the file is empty")))
case("empty.json", "empty", _bytes(b""), refused((None, None, "the file is empty")))
case(
    "whitespace_only.csv", "empty", _text("\n \r\n\t\n"), refused((None, None, "the file is empty"))
)
case("header_only.csv", "empty", _text(HEADER + "\n"), refused((None, None, "contains no rows")))
case(
    "header_only.xlsx",
    "empty",
    _xlsx([["customer_id", "stage", "score"]]),
    refused((None, None, "contains no rows")),
)
case("empty_sheet.xlsx", "empty", _xlsx([]), refused((None, None, "the sheet is empty")))
case("empty_array.json", "empty", _text("[]"), refused((None, None, "contains no rows")))


def _parquet(rows: int, cut: float | None = None, wrap: bytes = b"") -> Callable[[Path], None]:
    def build(path: Path) -> None:
        table = pa.table(
            {
                "customer_id": [f"C{i}" for i in range(rows)],
                "stage": ["Usage"] * rows,
                "score": pa.array([1] * rows, pa.int8()),
            }
        )
        buf = io.BytesIO()
        pq.write_table(table, buf)
        data = buf.getvalue()
        path.write_bytes(data[: int(len(data) * cut)] if cut else data)

    return build


case("zero_rows.parquet", "empty", _parquet(0), refused((None, None, "contains no rows")))

# -- Parquet ----------------------------------------------------------------------------------
case(
    "truncated.parquet",
    "parquet",
    _parquet(1000, cut=0.5),
    refused((None, None, "cannot be read as PARQUET")),
)
case(
    "magic_only.parquet",
    "parquet",
    _bytes(b"PAR1" + b"\0" * 200),
    refused((None, None, "cannot be read as PARQUET")),
)

# -- JSON -------------------------------------------------------------------------------------
RECORD = '{"customer_id": "C1", "stage": "Usage", "score": 1}'
case(
    "truncated.json",
    "json",
    _text(f"[{RECORD}, {RECORD[:20]}"),
    refused((None, None, 'Malformed JSON in file "truncated.json"')),
)
case(
    "trailing_comma.json",
    "json",
    _text(f"[{RECORD},]"),
    refused((None, None, "cannot be read as JSON")),
)
case(
    "not_objects.json",
    "json",
    _text("[1, 2, 3]"),
    refused(
        *((1, c, f"required column {c} is missing") for c in ("customer_id", "stage", "score"))
    ),
)
case(
    "unclosed_object.json",
    "json",
    _text('{"customer_id": '),
    refused((None, None, "cannot be read as JSON")),
)
case(
    "duplicate_keys.json",
    "json",
    _text('[{"customer_id": "C1", "customer_id": "C2", "stage": "Usage", "score": 1}]'),
    refused((None, None, "cannot be read as JSON")),
)
case(
    "broken_line.ndjson",
    "json",
    _text(f"{RECORD}\n{RECORD[:25]}\n{RECORD}\n"),
    refused((None, None, "line 3")),
)
case(
    "deep_nesting.json",
    "json",
    _text("[" * 100_000),
    refused((None, None, "cannot be read as JSON")),
)


# -- Excel ------------------------------------------------------------------------------------
def _raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand: (name, raw deflate data, crc32, declared unpacked size)."""
    out, central = io.BytesIO(), []
    for name, data, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data),
                              size, len(encoded), 0) + encoded + data)  # fmt: skip
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21,
                                   crc, len(data), size, len(encoded), 0, 0, 0, 0, 0, offset)
                       + encoded)  # fmt: skip
    start = out.tell()
    out.write(b"".join(central))
    n = len(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, out.tell() - start, start, 0))
    return out.getvalue()


def _deflate_repeat(head: bytes, unit: bytes, times: int, tail: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of head + unit * times + tail without building it: after a full flush
    the compressor's state is reset, so the compressed unit can be repeated verbatim."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)]
    comp.compress(unit)
    comp.flush(zlib.Z_FULL_FLUSH)
    segment = comp.compress(unit) + comp.flush(zlib.Z_FULL_FLUSH)
    parts += [segment * times, comp.compress(tail) + comp.flush()]
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(unit, crc)
    return b"".join(parts), zlib.crc32(tail, crc), len(head) + len(unit) * times + len(tail)


def _workbook_parts() -> dict[str, bytes]:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["customer_id", "stage", "score"])
    book.active.append(["C1", "Usage", 1])
    buf = io.BytesIO()
    book.save(buf)
    with zipfile.ZipFile(buf) as z:
        return {n: z.read(n) for n in z.namelist()}


def _rebuilt(parts: dict[str, bytes], special: dict[str, tuple[bytes, int, int]]) -> bytes:
    entries = []
    for name, data in parts.items():
        if name in special:
            entries.append((name, *special[name]))
        else:
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            entries.append((name, comp.compress(data) + comp.flush(), zlib.crc32(data), len(data)))
    return _raw_zip(entries)


SHEET = "xl/worksheets/sheet1.xml"


def _bomb(declared_mb: int | None) -> Callable[[Path], None]:
    """sheet1.xml inflating to BOMB_UNPACKED_MB of rows from a ~2 MB file; `declared_mb`
    lies about the size in the zip directory (None: the true size)."""

    def build(path: Path) -> None:
        parts = _workbook_parts()
        sheet = parts[SHEET].decode()
        cut = sheet.index("</sheetData>")
        row = (
            '<row><c t="inlineStr"><is><t>C9</t></is></c>'
            '<c t="inlineStr"><is><t>Usage</t></is></c><c><v>1</v></c></row>'
        )
        unit = (row * (2**20 // len(row) + 1)).encode()[: 2**20 - 2**20 % len(row)]
        data, crc, size = _deflate_repeat(
            sheet[:cut].encode(), unit, BOMB_UNPACKED_MB, sheet[cut:].encode()
        )
        declared = size if declared_mb is None else declared_mb * 2**20
        path.write_bytes(_rebuilt(parts, {SHEET: (data, crc, declared)}))

    return build


def _entities(part: str, doctype: str, body_from: str, body_to: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        parts = _workbook_parts()
        xml = parts[part].decode()
        head, rest = xml.split("?>", 1) if xml.startswith("<?xml") else ("", xml)
        head = head + "?>" if head else ""
        parts[part] = (head + doctype + rest.replace(body_from, body_to, 1)).encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                z.writestr(name, data)

    return build


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'

case(
    "not_a_zip.xlsx",
    "xlsx",
    _text("this is not a workbook\n"),
    refused((None, None, "is not an Excel workbook")),
)
case(
    "zip_without_workbook.xlsx",
    "xlsx",
    lambda p: zipfile.ZipFile(p, "w").writestr("hello.txt", "hi"),
    refused((None, None, "cannot be read as an Excel workbook")),
)
case(
    "truncated.xlsx",
    "xlsx",
    lambda p: (
        _xlsx([["customer_id", "stage", "score"], ["C1", "U", 1]])(p),
        p.write_bytes(p.read_bytes()[:900]),
    ),
    refused((None, None, "is not an Excel workbook")),
)
case(
    "decompression_bomb.xlsx",
    "xlsx",
    _bomb(None),
    refused((None, None, f"would unpack to {BOMB_UNPACKED_MB:,} MB")),
)
case(
    "bomb_lying_sizes.xlsx",
    "xlsx",
    _bomb(1),
    refused((None, None, "File is larger than its declared uncompressed size")),
)
case(
    "entity_expansion.xlsx",
    "xlsx",
    _entities(SHEET, LAUGHS, "<v>1</v>", "<v>&lol9;</v>"),
    refused((None, None, f"part {SHEET} declares a DTD or XML entities")),
)
case(
    "external_entity.xlsx",
    "xlsx",
    _entities(SHEET, XXE, "<v>1</v>", "<v>&xxe;</v>"),
    refused((None, None, "XML entity expansion")),
)

# -- wrong extension --------------------------------------------------------------------------
case("csv_named.txt", "extension", _text(GOOD), Imported(2, GOOD_ROWS, None, "CSV"))
case(
    "parquet_named.csv",
    "extension",
    _parquet(3),
    Imported(3, {"customer_id": ["C0", "C1", "C2"]}, None, "PARQUET"),
)
case(
    "json_named.csv",
    "extension",
    _text(f"[{RECORD}]"),
    Imported(1, {"customer_id": ["C1"]}, None, "JSON"),
)
case(
    "xlsx_named.csv",
    "extension",
    _xlsx([["customer_id", "stage", "score"], ["C1", "Usage", 1]]),
    Imported(1, {"score": [1.0]}, None, "XLSX"),
)
case(
    "csv_named.xlsx",
    "extension",
    _text(GOOD),
    refused((None, None, "is not an Excel workbook: an .xlsx file is a zip archive")),
)


# -- size -------------------------------------------------------------------------------------
def _sparse(size: int) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        with path.open("wb") as fh:
            fh.write((HEADER + "\nC1,Usage,1\n").encode())
            fh.truncate(size)  # a hole: claims the size, takes no disk space

    return build


case(
    "claims_2gb.csv",
    "size",
    _sparse(2**31),
    refused(
        (None, None, "the file is 2,048 MB, more than the 2,000 MB limit (setting max_file_mb)")
    ),
)


def _csv_row(values: list[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


# -- formula payloads (stored verbatim; neutralised on export) --------------------------------
FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
case(
    "formula_payloads.csv",
    "formula",
    _text(
        "customer_id,stage,score,note,segment\n"
        + "".join(_csv_row([f"=C{i}", "Usage", "1", f, f]) + "\n" for i, f in enumerate(FORMULAS))
    ),
    Imported(
        len(FORMULAS),
        {"customer_id": [f"=C{i}" for i in range(len(FORMULAS))], "note": FORMULAS},
        {"segment": FORMULAS},
    ),
)
case(
    "formula_payloads.xlsx",
    "formula",
    _xlsx(
        [
            ["customer_id", "stage", "score", "note"],
            *([f"=C{i}", "Usage", 1, f] for i, f in enumerate(FORMULAS[:4])),
        ]
    ),
    Imported(4, {"note": FORMULAS[:4]}),
)

# -- hostile column names (kept as attributes, exactly) ---------------------------------------
HOSTILE = [
    'say "hi"',
    "'; DROP TABLE observations; --",
    "SELECT",
    "from",
    "$batch",
    "{value}",
    "?",
    "a;b",
]
LONG = "x" * 10_000
CONTROL = "bell\x07tab\tesc\x1b[31m"


case(
    "hostile_names.csv",
    "hostile",
    _text(
        _csv_row(["customer_id", "stage", "score", *HOSTILE])
        + "\n"
        + _csv_row(["C1", "Usage", "1", *map(str, range(len(HOSTILE)))])
        + "\n"
    ),
    Imported(1, {"customer_id": ["C1"]}, {h: [str(i)] for i, h in enumerate(HOSTILE)}),
)
case(
    "hostile_names.json",
    "hostile",
    _text(
        json.dumps(
            [
                {
                    "customer_id": "C1",
                    "stage": "Usage",
                    "score": 1,
                    **{h: f"v{i}" for i, h in enumerate(HOSTILE)},
                }
            ]
        )
    ),
    Imported(1, {}, {h: [f"v{i}"] for i, h in enumerate(HOSTILE)}),
)
case(
    "hostile_names.xlsx",
    "hostile",
    _xlsx(
        [
            ["customer_id", "stage", "score", *HOSTILE],
            ["C1", "Usage", 1, *(f"v{i}" for i in range(len(HOSTILE)))],
        ]
    ),
    Imported(1, {}, {h: [f"v{i}"] for i, h in enumerate(HOSTILE)}),
)
case(
    "name_10000_chars.csv",
    "hostile",
    _text(f"customer_id,stage,score,{LONG}\nC1,Usage,1,long\n"),
    Imported(1, {}, {LONG: ["long"]}),
)
case(
    "name_control_chars.csv",
    "hostile",
    _text(_csv_row(["customer_id", "stage", "score", CONTROL]) + "\nC1,Usage,1,ctl\n"),
    Imported(1, {}, {CONTROL: ["ctl"]}),
)
case(
    "hostile_values.csv",
    "hostile",
    _text(
        'customer_id,stage,score,note\n"C1\'; DELETE FROM observations; --","Usage""",1,$batch ?\n'
    ),
    Imported(
        1,
        {
            "customer_id": ["C1'; DELETE FROM observations; --"],
            "stage": ['Usage"'],
            "note": ["$batch ?"],
        },
    ),
)


def build_corpus(folder: Path, cases: list[Case] | None = None) -> dict[str, Path]:
    """Write every case's file into `folder`; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for c in cases or CASES:
        path = folder / c.name
        c.build(path)
        paths[c.name] = path
    return paths


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_input_corpus")
    for name, path in build_corpus(out).items():
        print(f"{path.stat().st_size:>14,}  {name}")
