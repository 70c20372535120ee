"""Writing one validated batch: observations, customer attributes and outcomes, the batch
record. Shared by the staged path (load.py) and the direct CSV path (direct.py), so both
store exactly the same rows for the same file."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from cxdata.config import Settings
from cxdata.errors import Problem
from cxdata.ingest.mapping import Mapping
from cxdata.ingest.plan import Plan, Source, number, run, text, timestamp
from cxdata.ingest.readers import Staged, quote
from cxdata.ingest.result import IngestResult
from cxdata.store import CANONICAL_TEXT
from cxdata.store.audit import record

CUSTOMER_VALUES = "cx_customer_values"
"""Temp table: the distinct (customer, extra and outcome columns) combinations of a file."""

_FITS_TYPE = {
    "BIGINT": "regexp_full_match({v}, '[+-]?[0-9]{{1,18}}')",
    "DOUBLE": "TRY_CAST({v} AS DOUBLE) IS NOT NULL",
    "BOOLEAN": "lower({v}) IN ('true', 'false')",
    "TIMESTAMP": "TRY_CAST({v} AS TIMESTAMP) IS NOT NULL",
}


def observation_values(
    plan: Plan, source: Source, batch: str, source_row: str, customer_id: str | None = None
) -> str:
    """The select list of one observations row (table order) from trimmed text columns.

    `batch` and `source_row` are SQL expressions: the staged path knows both, the direct
    path a placeholder row number (its row checks), set once the batch passed them all.
    `customer_id` is the stored id's expression when it is not the imported one (the
    privacy hook's pseudonym, cxdata.privacy.customer_id_expr).
    """
    values = {c: plan.expr(c) for c in CANONICAL_TEXT}
    if customer_id is not None:
        values["customer_id"] = customer_id
    values["study"] = f"coalesce({values['study']}, $study)"
    values["stage"], values["touchpoint"] = source.stage, source.touchpoint
    return ", ".join(
        [
            batch,
            source_row,
            *(values[c] for c in CANONICAL_TEXT),
            source.score,
            timestamp(plan.expr("observed_at")),
        ]
    )


def collect_customer_values(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    relation: str,
    params: dict[str, Any] | None = None,
) -> None:
    """One pass over `relation` (the staging table, or the CSV reader) collects the distinct
    customer x extra and outcome values into CUSTOMER_VALUES: attributes repeat on every
    row of a customer, so type inference and the attribute rows read this small table."""
    columns = plan_value_columns(plan)
    if not columns:
        return
    picked = "".join(f", {text(c)} AS {quote(c)}" for c in columns)
    run(
        con,
        f"CREATE OR REPLACE TEMP TABLE {CUSTOMER_VALUES} AS "
        f"SELECT DISTINCT {plan.expr('customer_id')} AS customer_id{picked} FROM {relation}",
        params or {},
    )


def plan_value_columns(plan: Plan) -> list[str]:
    """Extra columns and outcome columns, each once, in file order."""
    return list(dict.fromkeys([*plan.extras, *(o.column for o in plan.outcomes.values())]))


def infer_types(
    con: duckdb.DuckDBPyConnection,
    columns: list[str],
    source_types: dict[str, str],
    relation: str = CUSTOMER_VALUES,
) -> dict[str, str]:
    """Type of each extra column: the source's own type, or for text sources the narrowest
    of BIGINT, DOUBLE, BOOLEAN, TIMESTAMP that every value fits (else VARCHAR)."""
    candidates = list(_FITS_TYPE)
    result: dict[str, str] = {}
    to_check = []
    for col in columns:
        source = source_types.get(col, "VARCHAR")
        if source != "VARCHAR":
            result[col] = source
        else:
            to_check.append(col)
    if to_check:
        # Each distinct value is checked once.
        fits_all = ", ".join(f"bool_and(v IS NULL OR {_FITS_TYPE[t].format(v='v')})"
                             for t in candidates)  # fmt: skip
        checks = ", ".join(
            f"(SELECT [{fits_all}] FROM (SELECT DISTINCT {text(c)} AS v FROM {relation}))"
            for c in to_check
        )
        row = con.execute(f"SELECT {checks}").fetchone() or ()
        for col, fit in zip(to_check, row, strict=True):
            result[col] = next((t for t, ok in zip(candidates, fit, strict=True) if ok), "VARCHAR")
    return {c: result[c] for c in columns}


def write_customer_values(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    extras: dict[str, str],
    batch_id: int,
    customer_id: str = "customer_id",
) -> int | None:
    """Attributes and outcomes from CUSTOMER_VALUES, one row per customer and distinct
    value (the caller holds the transaction); drops CUSTOMER_VALUES. Returns how many
    customers it holds (None when the file has no such columns). `customer_id` is the
    stored id as an expression of CUSTOMER_VALUES' `customer_id` (the id as imported)."""
    if not plan_value_columns(plan):
        return None
    row = con.execute(
        f"SELECT count(*), count(DISTINCT customer_id) FROM {CUSTOMER_VALUES}"
    ).fetchone()
    assert row is not None
    # Usually a customer has one value per column: then every row is already distinct.
    distinct = "" if row[0] == row[1] else "DISTINCT"
    insert = f"""INSERT INTO customer_attributes SELECT {distinct} $batch, {customer_id}, $name,
                     $kind, $dtype, {{value}}, {{numeric}}
                 FROM {CUSTOMER_VALUES} WHERE {{value}} IS NOT NULL"""
    for col, dtype in extras.items():
        value = quote(col)
        numeric = number(value) if dtype in ("BIGINT", "DOUBLE") else "NULL"
        run(con, insert.format(value=value, numeric=numeric),
            {"batch": batch_id, "name": plan.attribute_name(col), "kind": "attribute",
             "dtype": dtype})  # fmt: skip
    for name, outcome in plan.outcomes.items():
        value = quote(outcome.column)
        numeric = (
            f"CAST(list_contains($positive, lower({value})) AS DOUBLE)"
            if outcome.positive
            else number(value)
        )
        run(con, insert.format(value=value, numeric=numeric),
            {"batch": batch_id, "name": name, "kind": "outcome",
             "positive": [p.lower() for p in outcome.positive],
             "dtype": "BOOLEAN" if outcome.positive else "DOUBLE"})  # fmt: skip
    con.execute(f"DROP TABLE IF EXISTS {CUSTOMER_VALUES}")
    return int(row[1])


def record_batch(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    staged: Staged,
    sha: str,
    plan: Plan,
    mapping: Mapping,
    extras: dict[str, str],
    warnings: list[Problem],
    counts: tuple[Any, ...],
) -> None:
    """The configured stage order and the batch row (rows, customers, studies = `counts`)."""
    for position, stage in enumerate(mapping.stage_order):
        con.execute("INSERT OR REPLACE INTO stages VALUES (?, ?)", [stage, position])
    n_rows, n_customers, studies = counts
    mapping_record = {
        "columns": plan.columns,
        "extras": extras,
        "format": staged.format,
        "encoding": staged.encoding,
        "delimiter": staged.delimiter,
        "mapping_file": mapping.to_dict(),
    }
    con.execute(
        "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            batch_id,
            staged.file,
            sha,
            studies,
            int(n_rows),
            int(n_customers),
            json.dumps(mapping_record, default=str),
            json.dumps([w.line() for w in warnings]),
        ],
    )


def known_stages(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, framework_stages: list[str] | None
) -> list[str]:
    """Stages that raise no warning: the framework's, else the mapping's order, else the
    configured order in the store."""
    return (
        framework_stages
        or list(mapping.stage_order)
        or [s for (s,) in con.execute("SELECT name FROM stages ORDER BY position").fetchall()]
    )


def stage_reference(
    con: duckdb.DuckDBPyConnection, mapping: Mapping, framework_stages: list[str] | None
) -> str:
    """What `known_stages` came from, as an unknown-stage warning names it, with what to do."""
    if framework_stages:
        row = con.execute(
            "SELECT version, source_name FROM framework_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        where = f"version {row[0]}, from {row[1]}" if row else "the active version"
        return (
            f"the journey framework ({where}); add it to the framework (Journey framework "
            "page, or cxdata framework import) or correct the stage name in the file"
        )
    if mapping.stage_order:
        return "the mapping's stage order; add it there or correct the stage name in the file"
    return (
        "the stages imported so far (no journey framework is active); import a framework "
        "that has it, or correct the stage name in the file"
    )


def record_import(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    result: IngestResult,
    sha: str,
    settings: Settings,
) -> None:
    """The import's audit row, in the import's transaction (both paths write the same)."""
    record(con, actor, "import", {"batch_id": result.batch_id, "file": result.file,
                                  "sha256": sha, "rows": result.rows,
                                  "customers": result.customers,
                                  "pseudonymised": settings.pseudonymise})  # fmt: skip
