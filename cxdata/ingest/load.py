"""Ingest one file: stage, map, validate, then write one batch in one transaction."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from cxdata.audit import DEFAULT_ACTOR, record
from cxdata.config import Settings
from cxdata.ingest.mapping import Mapping, detect_columns, load_mapping
from cxdata.ingest.plan import (
    Plan,
    build_plan,
    number,
    run,
    stage_catalogue,
    text,
    timestamp,
)
from cxdata.ingest.problems import IngestError, Problem
from cxdata.ingest.readers import STAGE_TABLE, Staged, check_size, quote, stage_file
from cxdata.ingest.validate import find_problems, rules_for, unknown_stages
from cxdata.privacy import customer_id_expr
from cxdata.store import CANONICAL_TEXT, Store

Progress = Callable[[float, str], object]
CUSTOMER_VALUES = "cx_customer_values"


@dataclass
class IngestResult:
    """What happened to one file."""

    file: str
    batch_id: int | None
    rows: int
    customers: int
    already_imported: bool = False
    dry_run: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    description: str = ""

    def message(self) -> str:
        if self.already_imported:
            return f"{self.file}: already imported as batch {self.batch_id}; nothing added"
        if self.dry_run:
            return f"{self.file}: {self.rows:,} observations would be imported ({self.description})"
        return (
            f"{self.file}: imported as batch {self.batch_id}: {self.rows:,} observations, "
            f"{self.customers:,} customers ({self.description})"
        )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_file(
    store: Store,
    path: Path,
    *,
    study: str | None = None,
    mapping: Mapping | None = None,
    sheet: str | None = None,
    name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    actor: str = DEFAULT_ACTOR,
) -> IngestResult:
    """Import `path` as one batch, or raise IngestError listing every problem.

    Content already imported (same SHA-256) adds nothing. The file is hashed in a
    thread while DuckDB parses it, so hashing costs no extra wall time.
    """
    mapping = mapping or Mapping()
    name = name or path.name
    report = progress or (lambda _f, _m: None)
    cfg = store.settings
    check_size(path, name, cfg.max_file_mb)  # before the hash thread reads it
    with ThreadPoolExecutor(max_workers=1) as pool, store.connect() as con:
        digest = pool.submit(sha256_of, path)
        report(0.05, f"Reading {name}")
        staged = stage_file(con, path, sheet=sheet, name=name, max_unpacked_mb=cfg.max_unpacked_mb)
        already = store_batch_with_sha(con, digest.result())
        if already is not None:
            return IngestResult(name, already, 0, 0, already_imported=True, dry_run=dry_run)
        report(0.4, f"Checking {staged.rows:,} rows")
        try:
            columns = detect_columns(staged.headers, mapping, name)
        except IngestError as exc:
            raise IngestError(staged.problems + exc.problems) from None
        framework_stages = stage_catalogue(con)
        plan = build_plan(staged, columns, mapping, cfg, catalogue=framework_stages is not None)
        problems, total = find_problems(
            con, staged, plan, rules_for(plan, mapping, cfg), cfg.max_problems_kept
        )
        known = (
            framework_stages
            or list(mapping.stage_order)
            or [s for (s,) in con.execute("SELECT name FROM stages ORDER BY position").fetchall()]
        )
        warnings = (
            unknown_stages(con, staged, plan, known)
            if "stage" in columns or (mapping.is_wide)
            else []
        )
        errors = staged.problems + plan.problems + problems
        if errors and (already := store_batch_with_sha(con, digest.result())) is not None:
            # another session imported this very file while we checked it
            return IngestResult(name, already, 0, 0, already_imported=True, dry_run=dry_run)
        if errors:
            errors.sort(key=lambda p: (p.row or 0, p.column or ""))
            raise IngestError(errors + warnings, len(staged.problems + plan.problems) + total)
        extras = infer_types(con, staged, plan.extras)
        result = IngestResult(
            name,
            None,
            0,
            0,
            dry_run=dry_run,
            columns=columns,
            extras=extras,
            warnings=warnings,
            description=staged.describe(),
        )
        if dry_run:
            result.rows = sum(_count(con, s.keep, s.params) for s in plan.sources)
            return result
        report(0.6, "Writing the batch")
        with store.write_lock():  # one writer per process; the check sees every earlier batch
            already = store_batch_with_sha(con, digest.result())
            if already is not None:  # another session imported the same file meanwhile
                return IngestResult(name, already, 0, 0, already_imported=True)
            con.execute("BEGIN TRANSACTION")
            try:
                result.batch_id, result.rows, result.customers = _write_batch(
                    con, staged, plan, mapping, extras, digest.result(), study, warnings, cfg
                )
                record(con, actor, "import", {"batch_id": result.batch_id, "file": name,
                                              "sha256": digest.result(), "rows": result.rows,
                                              "customers": result.customers,
                                              "pseudonymised": cfg.pseudonymise})  # fmt: skip
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        report(1.0, "Done")
        return result


def store_batch_with_sha(con: duckdb.DuckDBPyConnection, sha: str) -> int | None:
    row = con.execute("SELECT min(batch_id) FROM batches WHERE sha256 = ?", [sha]).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _count(con: duckdb.DuckDBPyConnection, keep: str, params: dict[str, object]) -> int:
    row = run(con, f"SELECT count(*) FROM {STAGE_TABLE} WHERE {keep}", params).fetchone()
    return int(row[0]) if row else 0


def infer_types(
    con: duckdb.DuckDBPyConnection, staged: Staged, columns: list[str]
) -> dict[str, str]:
    """Type of each extra column: the source's own type, or for text sources the narrowest
    of BIGINT, DOUBLE, BOOLEAN, TIMESTAMP that every value fits (else VARCHAR)."""
    fits_type = {
        "BIGINT": "regexp_full_match({v}, '[+-]?[0-9]{{1,18}}')",
        "DOUBLE": "TRY_CAST({v} AS DOUBLE) IS NOT NULL",
        "BOOLEAN": "lower({v}) IN ('true', 'false')",
        "TIMESTAMP": "TRY_CAST({v} AS TIMESTAMP) IS NOT NULL",
    }
    candidates = list(fits_type)
    result: dict[str, str] = {}
    to_check = []
    for col in columns:
        source = staged.source_types.get(col, "VARCHAR")
        if source != "VARCHAR":
            result[col] = source
        else:
            to_check.append(col)
    if to_check:
        # Attributes repeat on every row of a customer: check each distinct value once.
        fits_all = ", ".join(f"bool_and(v IS NULL OR {fits_type[t].format(v='v')})"
                             for t in candidates)  # fmt: skip
        checks = ", ".join(
            f"(SELECT [{fits_all}] FROM (SELECT DISTINCT {text(c)} AS v FROM {STAGE_TABLE}))"
            for c in to_check
        )
        row = con.execute(f"SELECT {checks}").fetchone() or ()
        for col, fit in zip(to_check, row, strict=True):
            result[col] = next((t for t, ok in zip(candidates, fit, strict=True) if ok), "VARCHAR")
    return {c: result[c] for c in columns}


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: Plan,
    mapping: Mapping,
    extras: dict[str, str],
    sha: str,
    study: str | None,
    warnings: list[Problem],
    settings: Settings,
) -> tuple[int, int, int]:
    """Insert batch, observations and customer attributes (caller holds the transaction)."""
    row = con.execute("SELECT nextval('batch_id_seq')").fetchone()
    assert row is not None
    batch_id = int(row[0])
    default_study = study or Path(staged.file).stem
    # Privacy hook: the stored id (a keyed pseudonym when pseudonymisation is on).
    cid = customer_id_expr(con, plan.expr("customer_id"), STAGE_TABLE, settings)
    values = {
        c: plan.expr(c) for c in CANONICAL_TEXT if c not in ("customer_id", "stage", "touchpoint")
    }
    values["study"] = f"coalesce({values['study']}, $study)"
    observed_at = timestamp(plan.expr("observed_at"))
    for source in plan.sources:
        select = ", ".join(
            [
                "$batch",
                f"rowid + {staged.first_row}",
                values["observation_id"],
                cid,
                values["study"],
                source.stage,
                source.touchpoint,
                values["channel"],
                values["interaction"],
                values["method"],
                values["observer"],
                values["note"],
                source.score,
                observed_at,
            ]
        )
        run(
            con,
            f"INSERT INTO observations SELECT {select} FROM {STAGE_TABLE} WHERE {source.keep}",
            {**source.params, "batch": batch_id, "study": default_study},
        )
    _write_customer_values(con, plan, extras, cid, batch_id)
    for position, stage in enumerate(mapping.stage_order):
        con.execute("INSERT OR REPLACE INTO stages VALUES (?, ?)", [stage, position])
    counts = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), string_agg(DISTINCT study, ', ') "
        "FROM observations WHERE batch_id = ?",
        [batch_id],
    ).fetchone()
    assert counts is not None
    n_rows, n_customers, studies = int(counts[0]), int(counts[1]), counts[2]
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
            n_rows,
            n_customers,
            json.dumps(mapping_record, default=str),
            json.dumps([w.line() for w in warnings]),
        ],
    )
    return batch_id, n_rows, n_customers


def _write_customer_values(
    con: duckdb.DuckDBPyConnection, plan: Plan, extras: dict[str, str], cid: str, batch_id: int
) -> None:
    """Attributes and outcomes, one row per customer and distinct value. One pass over the
    staged rows collects the distinct combinations; each column is taken from those."""
    columns = list(dict.fromkeys([*extras, *(o.column for o in plan.outcomes.values())]))
    if not columns:
        return
    picked = ", ".join(f"{text(c)} AS {quote(c)}" for c in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CUSTOMER_VALUES} AS "
        f"SELECT DISTINCT {cid} AS customer_id, {picked} FROM {STAGE_TABLE}"
    )
    insert = f"""INSERT INTO customer_attributes SELECT DISTINCT $batch, customer_id, $name,
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
    con.execute(f"DROP TABLE {CUSTOMER_VALUES}")


def ingest_bytes(store: Store, name: str, data: bytes, **options: Any) -> IngestResult:
    """Ingest an uploaded file's content under its own name (the app's upload path)."""
    safe_name = Path(name).name or "upload"
    store.scratch_dir.mkdir(exist_ok=True)  # the folder a sandboxed store may read
    with tempfile.TemporaryDirectory(prefix="cxdata-upload-", dir=store.scratch_dir) as tmp:
        path = Path(tmp) / safe_name
        path.write_bytes(data)
        return ingest_file(store, path, name=safe_name, **options)


def load_sample(
    store: Store, progress: Progress | None = None, *, actor: str = DEFAULT_ACTOR
) -> list[IngestResult]:
    """Import the committed sample data set: its journey framework first (so every sample
    stage is known), then each file with its mapping, if it has one."""
    from cxdata.framework import import_framework
    from cxdata.sample import DATA_FILES, FRAMEWORK_FILE, SAMPLE_DIR, STUDY_OF_FILE, mapping_for

    import_framework(store, SAMPLE_DIR / FRAMEWORK_FILE, actor=actor)
    results = []
    for i, name in enumerate(DATA_FILES):
        if progress:
            progress(i / len(DATA_FILES), f"Loading sample data: {name}")
        path = SAMPLE_DIR / name
        mapping_path = mapping_for(path)
        mapping = load_mapping(mapping_path) if mapping_path else None
        results.append(
            ingest_file(store, path, mapping=mapping, study=STUDY_OF_FILE.get(name), actor=actor)
        )
    return results
