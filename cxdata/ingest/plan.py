"""How a staged file becomes observations: SQL expressions per canonical column.

A plan is built once from the headers and the mapping; validation and the insert use
the same expressions, so what is checked is exactly what is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import duckdb

from cxdata.config import Settings
from cxdata.errors import Problem
from cxdata.ingest.mapping import REQUIRED, Mapping, Outcome
from cxdata.ingest.readers import STAGE_TABLE, Staged, quote
from cxdata.store.schema import DERIVED_NAMES

TIMESTAMP_FORMATS = ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M"]
ROW_ID_COLUMN = "(row number)"
"""Staged column holding generated respondent ids when each row is one respondent."""
ROW_ID_HINT = (
    'if each row is one respondent, add respondent_id = "row" under [wide] in the mapping '
    'file, tick "Each row is one respondent" on the Upload page, or use cxdata ingest '
    "--row-ids: the ids become <file stem>-<row number>"
)
CATALOGUE_TABLE = "cx_catalogue"
"""Temp table (code, score) of the active framework's interactions, in the ingest connection."""


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> Any:
    """Execute with the named parameters the statement uses (DuckDB rejects extra ones)."""
    used = set(re.findall(r"\$(\w+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def text(column: str | None) -> str:
    """A staged column (already trimmed, empty as NULL at staging); SQL NULL if absent."""
    return "NULL" if column is None else quote(column)


def number(expr: str) -> str:
    """Text to DOUBLE; a decimal comma (German exports) is accepted. The cast refuses
    any comma, so the replace runs only where the plain cast failed (on every value it
    cost 0.19 CPU-s per 4M values, ~20% of parsing them)."""
    return f"coalesce(TRY_CAST({expr} AS DOUBLE), TRY_CAST(replace({expr}, ',', '.') AS DOUBLE))"


def timestamp(expr: str) -> str:
    """ISO timestamps and dates, or German day.month.year; nothing ambiguous is guessed."""
    formats = ", ".join(f"'{f}'" for f in TIMESTAMP_FORMATS)
    return f"coalesce(TRY_CAST({expr} AS TIMESTAMP), try_strptime({expr}, [{formats}]))"


def stage_catalogue(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Copy the active framework's catalogue into a temp table of this connection, so
    scores are looked up in the engine; returns its stages, or None without a framework."""
    latest = "(SELECT max(version) FROM framework_versions)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CATALOGUE_TABLE} AS
            SELECT code, score FROM framework_interactions WHERE version = {latest}"""
    )
    rows = con.execute(
        f"SELECT name FROM framework_stages WHERE version = {latest} ORDER BY position"
    ).fetchall()
    return [str(name) for (name,) in rows] or None


def add_row_ids(
    con: duckdb.DuckDBPyConnection, staged: Staged, columns: dict[str, str]
) -> dict[str, str]:
    """Give every staged row the respondent id `<file stem>-<row number>` (the row as the
    user sees it, header = row 1) and map customer_id to it; a detected id column is
    then kept as an attribute."""
    con.execute(f"ALTER TABLE {STAGE_TABLE} ADD COLUMN {quote(ROW_ID_COLUMN)} VARCHAR")
    con.execute(
        f"UPDATE {STAGE_TABLE} SET {quote(ROW_ID_COLUMN)} = $stem || '-' || "
        f"CAST(rowid + {int(staged.first_row)} AS VARCHAR)",
        {"stem": PurePath(staged.file).stem},
    )
    return {**columns, "customer_id": ROW_ID_COLUMN}


@dataclass(frozen=True)
class Source:
    """One way rows of the staged table become observations (a wide file has one per item)."""

    stage: str
    touchpoint: str
    score: str
    score_column: str | None
    keep: str = "TRUE"
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class Plan:
    """Canonical column -> staged source header, the observation sources, the extras."""

    columns: dict[str, str]
    sources: list[Source]
    extras: list[str]
    outcomes: dict[str, Outcome]
    problems: list[Problem] = field(default_factory=list)
    codes_score: bool = False  # interaction codes supply the score of rows without one
    renamed: dict[str, str] = field(default_factory=dict)  # header -> attribute name

    def expr(self, canonical: str) -> str:
        return text(self.columns.get(canonical))

    def attribute_name(self, header: str) -> str:
        """The name an extra column is stored under ([attributes] in the mapping renames)."""
        return self.renamed.get(header, header)


def catalogue_score(code: str) -> str:
    """The active framework's score for an interaction code (NULL if unknown)."""
    return f"(SELECT c.score FROM {CATALOGUE_TABLE} c WHERE c.code = {code})"


def build_plan(
    staged: Staged,
    columns: dict[str, str],
    mapping: Mapping,
    cfg: Settings,
    catalogue: bool = False,
) -> Plan:
    """Decide the sources and extras; report missing required or mapped columns.

    With a `catalogue` (an active framework) and an interaction column, a row's score
    is its own, else its interaction code's catalogue score; the score column is optional.
    """
    file = staged.file
    problems: list[Problem] = []
    used = set(columns.values())
    sources: list[Source] = []
    codes = False
    if mapping.is_wide:
        lo, hi = mapping.wide_scale or (cfg.score_min, cfg.score_max)
        slope = (cfg.score_max - cfg.score_min) / (hi - lo)
        na_params = {f"na_{i}": v for i, v in enumerate(mapping.not_applicable)}
        na = ", ".join(f"${k}" for k in na_params) or "NULL"
        for i, (column, item) in enumerate(mapping.wide_items.items()):
            if column not in staged.headers:
                problems.append(Problem(file, 1, column, None, "wide item column not in the file"))
                continue
            used.add(column)
            rating = number(text(column))
            keep = f"{text(column)} IS NOT NULL"
            if na_params:  # `x NOT IN (NULL)` is NULL: without codes it would keep no row
                keep += f" AND {text(column)} NOT IN ({na})"
            sources.append(
                Source(
                    stage=f"$stage_{i}",
                    touchpoint=f"$touchpoint_{i}",
                    score=f"{cfg.score_min} + ({rating} - {lo}) * {slope}",
                    score_column=column,
                    keep=keep,
                    params={
                        f"stage_{i}": item.stage,
                        f"touchpoint_{i}": item.touchpoint,
                        **na_params,
                    },
                )
            )
        required = ["customer_id"]
    else:
        score = number(text(columns.get("score")))
        codes = catalogue and "interaction" in columns
        if codes:
            score = f"coalesce({score}, {catalogue_score(text(columns['interaction']))})"
        sources.append(
            Source(
                text(columns.get("stage")),
                text(columns.get("touchpoint")),
                score,
                columns.get("score"),
            )
        )
        required = [c for c in REQUIRED if not (codes and c == "score")]
    for canonical in required:
        if canonical not in columns:
            problems.append(
                Problem(
                    file,
                    1,
                    canonical,
                    None,
                    f"required column {canonical} is missing (headers: "
                    f"{', '.join(staged.headers)[:200]})"
                    + (f"; {ROW_ID_HINT}" if canonical == "customer_id" else ""),
                )
            )
    outcomes = {}
    for name, outcome in mapping.outcomes.items():
        if outcome.column not in staged.headers:
            problems.append(
                Problem(file, 1, outcome.column, None, f"outcome {name}: column not in the file")
            )
        else:
            outcomes[name] = outcome
            used.add(outcome.column)
    for name, header in mapping.attributes.items():
        if header not in staged.headers:
            problems.append(
                Problem(file, 1, header, None, f"attribute {name}: column not in the file")
            )
    extras = [h for h in staged.headers if h not in used]
    names = {header: name for name, header in mapping.attributes.items()}
    stored = [(h, names.get(h, h)) for h in extras]
    stored += [(o.column, name) for name, o in outcomes.items()]
    for header, name in stored:
        if name in DERIVED_NAMES:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    None,
                    f'"{name}" is a name cxdata derives itself (the periods of observed_at, '
                    "persona): store the column under another name with [attributes] in "
                    "the mapping, e.g. file_" + name + f' = "{header}"',
                )  # fmt: skip
            )
    return Plan(columns, sources, extras, outcomes, problems, codes, names)
