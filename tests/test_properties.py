"""Property-based ingestion (hypothesis): for generated CSV and JSON content, a file is
either valid, and then every row is imported exactly, or it raises IngestError (never
another exception, never a partial import); imported data exported with `cxdata export`
and imported into a fresh store gives the same observations and customer values."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cxdata.config import Settings
from cxdata.ingest import IngestError, ingest_file, load_mapping
from cxdata.ingest.export import export_observations
from cxdata.ingest.mapping import SYNONYMS, normalise
from cxdata.store import Store
from tests.conftest import table_checksum

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=10)
NAME_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12
)
SYNONYM_KEYS = {normalise(s) for syns in SYNONYMS.values() for s in syns}
SPACES = "".join(chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)) == "Zs")
"""What staging trims (DuckDB's trim): Unicode space separators, e.g. no-break space."""


def _strip(text: str) -> str:
    return text.strip(SPACES)


def _attribute_name(name: str) -> bool:
    """Names cxdata keeps as attributes: not a canonical synonym, not reserved, not blank
    (only white space counts as no header)."""
    key = normalise(name)
    return bool(_strip(name).strip()) and key not in SYNONYM_KEYS and name.lower() != "rowid"


ATTRIBUTE_NAMES = st.lists(
    NAME_TEXT.map(lambda s: s.strip(SPACES)).filter(_attribute_name),
    max_size=3,
    unique_by=lambda s: s.strip().lower(),  # as the duplicate-header check compares
)
VALID_SCORE = st.one_of(
    st.integers(-3, 3).map(str),
    st.decimals(-3, 3, places=2).map(str),
    st.decimals(-3, 3, places=2).map(lambda d: str(d).replace(".", ",")),
)
TRICKY_SCORES = ["1\x85", "1\u2028", "\u0661", "1_0", "0_5", "\xa02\xa0", " 3\t", "1e0", "-0", "+2"]
ANY_SCORE = st.one_of(
    VALID_SCORE, TEXT, st.floats(allow_nan=True).map(repr), st.sampled_from(TRICKY_SCORES)
)


def _score(text: str) -> float | None:
    """The oracle: what the score column means (decimal comma allowed, -3..3, finite)."""
    text = _strip(text)
    if not text.isascii():  # Python's float() also takes other digits and line separators
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and -3 <= value <= 3 else None


@st.composite
def files(draw, valid_only: bool):
    attributes = draw(ATTRIBUTE_NAMES)
    n = draw(st.integers(1, 25))
    score = VALID_SCORE if valid_only else ANY_SCORE
    ident = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 '=+@-]{0,8}", fullmatch=True)
    text = ident if valid_only else st.one_of(ident, TEXT)
    rows = []
    for _ in range(n):
        row = {
            "customer_id": draw(st.sampled_from(["C1", "C2", "=C3"]) | text),
            "stage": draw(st.sampled_from(["Purchase", "Usage", "-Delivery"]) | text),
            "score": draw(score),
            "note": draw(TEXT),
        }
        for name in attributes:
            row[name] = draw(st.sampled_from(["", "yes", "no", "+1", "'=x"]) | TEXT)
        rows.append(row)
    return attributes, rows


def _valid(rows: list[dict[str, str]]) -> bool:
    return all(
        r["customer_id"].strip(SPACES)
        and r["stage"].strip(SPACES)
        and _score(r["score"]) is not None
        for r in rows
    )


def _csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([r[c] for c in columns] for r in rows)
    return out.getvalue().encode("utf-8")


def _json(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    return json.dumps([{c: r[c] for c in columns} for r in rows]).encode()


def _store(folder: Path, name: str) -> Store:
    return Store.open(Settings(lock_timeout_s=2.0), folder / name / "cx.duckdb")


def _observations(store: Store):
    return store.query_df(
        "SELECT * EXCLUDE (batch_id, source_row) FROM observations ORDER BY batch_id, source_row"
    )


def _values(store: Store) -> set[tuple[str, str, str]]:
    df = store.query_df("SELECT DISTINCT customer_id, name, value FROM customer_attributes")
    return set(df.itertuples(index=False, name=None))


def _expected_values(rows, attributes) -> set[tuple[str, str, str]]:
    return {
        (r["customer_id"].strip(SPACES), a, r[a].strip(SPACES))
        for r in rows
        for a in attributes
        if r[a].strip(SPACES)
    }


def _unguarded(text: str) -> str:
    from cxdata.ingest.readers import unguard

    return unguard(text.strip(SPACES))


def _generated_file(folder: Path, data: tuple[list[str], list[dict[str, str]]], fmt: str) -> Path:
    """The generated rows written as gen.csv or gen.json in `folder`."""
    attributes, rows = data
    columns = ["customer_id", "stage", "score", "note", *attributes]
    path = folder / f"gen.{fmt}"
    path.write_bytes((_csv if fmt == "csv" else _json)(rows, columns))
    return path


@SETTINGS
@given(
    data=st.booleans().flatmap(lambda v: files(valid_only=v)), fmt=st.sampled_from(["csv", "json"])
)
def test_a_file_imports_exactly_or_raises_ingest_error(data, fmt):
    rows = data[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = _store(folder, "db")
        path = _generated_file(folder, data, fmt)
        before = table_checksum(store)
        try:
            result = ingest_file(store, path)
        except IngestError as exc:
            event("refused")
            assert exc.problems, "an IngestError names at least one problem"
            assert table_checksum(store) == before
            assert not _valid(rows), [p.line() for p in exc.problems[:5]]
            return
        event("imported")
        assert _valid(rows), "an invalid file was imported"
        assert result.rows == len(rows)
        stored = _observations(store)
        assert list(stored["customer_id"]) == [_unguarded(r["customer_id"]) for r in rows]
        assert list(stored["stage"]) == [_unguarded(r["stage"]) for r in rows]
        assert list(stored["score"]) == [_score(r["score"]) for r in rows]
        notes = [None if not r["note"].strip(SPACES) else _unguarded(r["note"]) for r in rows]
        assert list(stored["note"].astype(object).where(stored["note"].notna(), None)) == notes


@SETTINGS
@given(data=files(valid_only=True), fmt=st.sampled_from(["csv", "json"]))
def test_export_then_import_gives_the_same_observations(data, fmt):
    rows = data[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = _store(folder, "a")
        ingest_file(first, _generated_file(folder, data, fmt))
        exported = folder / "export.csv"
        count, mapping = export_observations(first, exported)
        assert count == len(rows)
        second = _store(folder, "b")
        ingest_file(second, exported, mapping=load_mapping(mapping) if mapping else None)
        a, b = _observations(first), _observations(second)
        assert a.equals(b), a.compare(b) if a.shape == b.shape else (a.shape, b.shape)
        assert _values(first) == _values(second)
