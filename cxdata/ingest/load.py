"""Ingest one file: stage, map, validate, then write one batch in one transaction."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb

from cxdata.errors import IngestError, Problem
from cxdata.ingest.direct import ingest_csv_direct
from cxdata.ingest.formats import check_size, stage_file
from cxdata.ingest.mapping import Mapping, detect_columns
from cxdata.ingest.plan import Plan, add_row_ids, build_plan, run, stage_catalogue
from cxdata.ingest.readers import STAGE_TABLE, Staged
from cxdata.ingest.result import (
    ImportJob,
    IngestResult,
    Progress,
    batch_mapping_differs,
    store_batch_with_sha,
)
from cxdata.ingest.validate import find_problems, rules_for, unknown_stages
from cxdata.ingest.write import (
    collect_customer_values,
    infer_types,
    known_stages,
    observation_values,
    record_batch,
    record_import,
    stage_reference,
    write_customer_values,
)
from cxdata.store import Store
from cxdata.store.audit import DEFAULT_ACTOR
from cxdata.store.database import delete_batch
from cxdata.store.privacy import customer_id_expr, mapped_customer_id
from cxdata.store.scratch import UPLOAD_PREFIX, scratch_copy


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
    replace: bool = False,
) -> IngestResult:
    """Import `path` as one batch, or raise IngestError listing every problem.

    Content already imported (same SHA-256) adds nothing; when it was imported with another
    mapping the file is checked with this one and the answer says so, and with `replace`
    that batch is removed and this import written in one transaction. The file is hashed in a
    thread while DuckDB parses it, so hashing costs no extra wall time. A long-format CSV
    first takes the direct path (read once, checked while it is inserted); when any check
    fails, or for other formats, the file is staged and every problem is listed.
    """
    mapping = mapping or Mapping()
    name = name or path.name
    report = progress or (lambda _f, _m: None)
    check_size(path, name, store.settings.max_file_mb)  # before the hash thread reads it
    with ThreadPoolExecutor(max_workers=1) as pool, store.connect() as con:
        job = ImportJob(store, path, name, mapping, study, pool.submit(sha256_of, path),
                        report, actor, replace)  # fmt: skip
        report(0.05, f"Reading {name}")
        if not dry_run and sheet is None and not replace:
            direct = ingest_csv_direct(con, job)
            if direct is not None and not (
                direct.already_imported and _differs(con, direct.batch_id, mapping)
            ):
                report(1.0, "Done")
                return direct
        return _ingest_staged(con, job, sheet, dry_run)


def _ingest_staged(
    con: duckdb.DuckDBPyConnection, job: ImportJob, sheet: str | None, dry_run: bool
) -> IngestResult:
    """The detailed path: stage the file as text, check every row, list every problem."""
    cfg = job.store.settings
    staged = stage_file(
        con, job.path, sheet=sheet, name=job.name, max_unpacked_mb=cfg.max_unpacked_mb
    )
    already = store_batch_with_sha(con, job.digest.result())
    differs = _differs(con, already, job.mapping)
    if already is not None and not differs and not job.replace:
        return IngestResult(job.name, already, 0, 0, already_imported=True, dry_run=dry_run)
    # Another mapping, or a replacement: check the file with this mapping first, so its
    # problems are listed before the batch is offered for replacement.
    job.report(0.4, f"Checking {staged.rows:,} rows")
    try:
        columns = detect_columns(staged.headers, job.mapping, job.name)
    except IngestError as exc:
        raise IngestError(staged.problems + exc.problems) from None
    if job.mapping.row_ids:
        columns = add_row_ids(con, staged, columns)
    framework_stages = stage_catalogue(con)
    plan = build_plan(staged, columns, job.mapping, cfg, catalogue=framework_stages is not None)
    problems, total = find_problems(
        con, staged, plan, rules_for(plan, job.mapping, cfg), cfg.max_problems_kept
    )
    known = known_stages(con, job.mapping, framework_stages)
    reference = stage_reference(con, job.mapping, framework_stages)
    warnings = (
        unknown_stages(con, staged, plan, known, reference)
        if "stage" in columns or job.mapping.is_wide
        else []
    )
    errors = staged.problems + plan.problems + problems
    if errors and already is None and (already := store_batch_with_sha(con, job.digest.result())):
        # another session imported this very file while we checked it
        return IngestResult(job.name, already, 0, 0, already_imported=True, dry_run=dry_run)
    if errors:
        errors.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise IngestError(errors + warnings, len(staged.problems + plan.problems) + total)
    collect_customer_values(con, plan, STAGE_TABLE)
    extras = infer_types(con, plan.extras, staged.source_types)
    result = IngestResult(
        job.name,
        None,
        0,
        0,
        dry_run=dry_run,
        columns=columns,
        extras=extras,
        warnings=warnings,
        description=staged.describe(),
    )
    if already is not None and not job.replace:  # checked, but nothing is added
        return IngestResult(job.name, already, 0, 0, already_imported=True, dry_run=dry_run,
                            mapping_differs=differs)  # fmt: skip
    result.replaces = already
    if dry_run:
        result.rows = sum(_count(con, s.keep, s.params) for s in plan.sources)
        return result
    job.report(0.6, "Writing the batch")
    with job.store.write_lock():  # one writer per process; the check sees every earlier batch
        already = store_batch_with_sha(con, job.digest.result())
        if already is not None and not job.replace:  # another session imported it meanwhile
            return IngestResult(job.name, already, 0, 0, already_imported=True)
        result.replaces = already
        con.execute("BEGIN TRANSACTION")
        try:
            if already is not None:  # removed in the transaction that writes the new batch
                delete_batch(con, already, job.actor)
            result.batch_id, result.rows, result.customers = _write_batch(
                con, job, staged, plan, extras, warnings
            )
            record_import(con, job.actor, result, job.digest.result(), cfg)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    job.report(1.0, "Done")
    return result


def _differs(con: duckdb.DuckDBPyConnection, batch_id: int | None, mapping: Mapping) -> bool:
    return batch_id is not None and batch_mapping_differs(con, batch_id, mapping)


def _count(con: duckdb.DuckDBPyConnection, keep: str, params: dict[str, object]) -> int:
    row = run(con, f"SELECT count(*) FROM {STAGE_TABLE} WHERE {keep}", params).fetchone()
    return int(row[0]) if row else 0


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    job: ImportJob,
    staged: Staged,
    plan: Plan,
    extras: dict[str, str],
    warnings: list[Problem],
) -> tuple[int, int, int]:
    """Insert batch, observations and customer attributes (caller holds the transaction)."""
    row = con.execute("SELECT nextval('batch_id_seq')").fetchone()
    assert row is not None
    batch_id = int(row[0])
    default_study = job.study or Path(staged.file).stem
    # Privacy hook: the stored id (a keyed pseudonym when pseudonymisation is on).
    raw_id = plan.expr("customer_id")
    cid = customer_id_expr(con, raw_id, STAGE_TABLE, job.store.settings)
    for source in plan.sources:
        select = observation_values(
            plan, source, "$batch", f"rowid + {staged.first_row}", customer_id=cid
        )
        run(
            con,
            f"INSERT INTO observations SELECT {select} FROM {STAGE_TABLE} WHERE {source.keep}",
            {**source.params, "batch": batch_id, "study": default_study},
        )
    # CUSTOMER_VALUES holds the ids as imported: their pseudonyms come from the same
    # mapping table customer_id_expr just made (never a second HMAC pass).
    stored_id = mapped_customer_id("customer_id") if cid != raw_id else "customer_id"
    write_customer_values(con, plan, extras, batch_id, customer_id=stored_id)
    counts = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), string_agg(DISTINCT study, ', ') "
        "FROM observations WHERE batch_id = ?",
        [batch_id],
    ).fetchone()
    assert counts is not None
    record_batch(con, batch_id, staged, job.digest.result(), plan, job.mapping, extras, warnings,
                 counts)  # fmt: skip
    return batch_id, int(counts[0]), int(counts[1])


def ingest_bytes(store: Store, name: str, data: bytes, **options: Any) -> IngestResult:
    """Ingest an uploaded file's content under its own name (the app's upload path).

    The content is copied into the scratch folder (the folder a sandboxed store may read)
    for the import only: the copy is removed when the import ends however it ends, and a
    copy left by a killed process goes at the next start (`cxdata.store.scratch`)."""
    safe_name = Path(name).name or "upload"
    wait_s = store.settings.lock_timeout_s
    with scratch_copy(store.scratch_dir, UPLOAD_PREFIX, wait_s=wait_s) as folder:
        path = folder / safe_name
        path.write_bytes(data)
        return ingest_file(store, path, name=safe_name, **options)
