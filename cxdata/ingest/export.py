"""Export: CSV that spreadsheets cannot execute (the inverse of ingest's formula-guard
undo), and observations written so that they re-import as they were."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cxdata.errors import CxError
from cxdata.store import CANONICAL_TEXT

if TYPE_CHECKING:
    from cxdata.store import Store

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_GUARD = re.compile("^'*[=+@\t\r-]")
EXPORT_COLUMNS = (*CANONICAL_TEXT, "score", "observed_at")


def neutralise(value: object) -> object:
    """A text cell starting like a formula gets a leading apostrophe (OWASP CSV injection).

    Text that already starts with apostrophes before a formula start gets one more, so
    that cxdata's import, which removes exactly one (cxdata.ingest.readers.unguard),
    reads every exported cell back exactly."""
    if isinstance(value, str) and _NEEDS_GUARD.match(value):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes with every text cell (and header) neutralised; numbers stay numbers.

    Lines end in CRLF (RFC 4180), which also makes the writer quote a cell holding a bare
    carriage return; with "\n" endings such a cell was written raw and split the row."""
    out = df.copy()
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    # CRLF rows: the csv module then quotes every field holding a CR or LF (RFC 4180).
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


class ExportError(CxError):
    """The store's content cannot be written so that it re-imports the same."""


def observations_table(store: Store) -> tuple[pd.DataFrame, dict[str, dict[str, object]]]:
    """Every observation (canonical columns in file order, batch by batch) with one column
    per customer attribute and outcome, and the outcomes' definitions for a mapping file.

    A customer's attribute values are spread over their rows (row k gets value k mod n),
    so re-importing stores the same distinct values per customer; a row cannot be traced
    to its value, as attributes are kept per customer."""
    obs = store.query_df(
        """SELECT observation_id, customer_id, study, stage, touchpoint, channel, interaction,
                  method, observer, note, score, observed_at,
                  row_number() OVER (PARTITION BY customer_id ORDER BY batch_id, source_row)
                      - 1 AS k
           FROM observations ORDER BY batch_id, source_row"""
    )
    values = store.query_df(
        """SELECT customer_id, name, value,
                  row_number() OVER (PARTITION BY customer_id, name ORDER BY value) - 1 AS i,
                  count(*) OVER (PARTITION BY customer_id, name) AS n
           FROM (SELECT DISTINCT customer_id, name, value
                 FROM customer_attributes WHERE value IS NOT NULL)
           ORDER BY name"""
    )
    outcome_values = store.query_df(
        """SELECT DISTINCT name, dtype, value, number FROM customer_attributes
           WHERE kind = 'outcome' ORDER BY name"""
    )
    names = list(dict.fromkeys(values["name"]))
    seen = {c: c for c in EXPORT_COLUMNS}
    for name in names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ExportError(
                f"the attribute {name!r} would share a column with {other!r}: names differ "
                "only in case or repeat a canonical column"
            )
    out = obs[list(EXPORT_COLUMNS)].copy()
    for name in names:
        mine = values[values["name"] == name]
        slot = obs[["customer_id", "k"]].merge(
            mine[["customer_id", "n"]].drop_duplicates(), on="customer_id", how="left"
        )
        slot["i"] = slot["k"] % slot["n"]
        picked = slot.merge(
            mine[["customer_id", "i", "value"]], on=["customer_id", "i"], how="left"
        )
        out[name] = picked["value"].to_numpy()
    outcomes: dict[str, dict[str, object]] = {}
    for name, dtype in (
        outcome_values[["name", "dtype"]].drop_duplicates("name").itertuples(index=False)
    ):
        spec: dict[str, object] = {"column": name}
        if dtype == "BOOLEAN":  # stored as 1/0 from a `positive` list: rebuild the list
            mine = outcome_values[outcome_values["name"] == name]
            spec["positive"] = sorted(set(mine.loc[mine["number"] == 1.0, "value"].str.lower()))
        outcomes[name] = spec
    return out, outcomes


def export_observations(store: Store, path: Path) -> tuple[int, Path | None]:
    """Write every observation as CSV that `cxdata ingest` reads back to the same
    observations and customer values, formula-like text guarded. When the file would not
    re-import the same on its own (outcomes, or an attribute named like a canonical
    column), a mapping file FILE.mapping.toml is written beside it. Returns the row count
    and the mapping file, if any."""
    from cxdata.ingest.mapping import SYNONYMS, normalise

    table, outcomes = observations_table(store)
    path.write_bytes(safe_csv(table))
    synonyms = {normalise(s) for syns in SYNONYMS.values() for s in syns}
    extra = [c for c in table.columns if c not in EXPORT_COLUMNS]
    if not outcomes and not any(normalise(c) in synonyms for c in extra):
        return len(table), None
    lines = ["[columns]"]
    lines += [f"{c} = {_toml(c)}" for c in EXPORT_COLUMNS]
    if outcomes:
        lines.append("\n[outcomes]")
        for name, spec in outcomes.items():
            parts = [f"column = {_toml(name)}"]
            if "positive" in spec:
                positive = ", ".join(_toml(str(v)) for v in spec["positive"])  # type: ignore
                parts.append(f"positive = [{positive}]")
            lines.append(f"{_toml(name)} = {{ {', '.join(parts)} }}")
    mapping = path.with_name(path.name + ".mapping.toml")
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(table), mapping


def _toml(text: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    import json

    return json.dumps(text, ensure_ascii=False)
