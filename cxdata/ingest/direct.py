"""The direct path for long-format CSV: the file is read once, by DuckDB's reader, straight
into `observations` inside the batch transaction, with every row check folded into the
insert.

Staging the file first and then inserting it costs two full loads. Here a row that fails
any rule of `rules_for` makes the insert raise (`error()` in a CASE), a rejected line
fails the rejects check, and the observation-id checks run on the rows just inserted. Any
failure rolls the transaction back and returns None: the caller then takes the staged
path, which lists every problem with its row. A clean file is therefore read twice at most
(once for the observations, once more for the customer attributes, reading only those
columns), never staged.

Batch id: the rows go in with the id the batch sequence will draw next (read, not
drawn: a drawn value is gone even when the transaction rolls back, and a failed import
must leave no gap); it is drawn after the checks and must be that id.

Row numbers: DuckDB's reader has no row-number column and `row_number() OVER ()` would
serialise the whole insert onto one thread (1.6x its time), so rows go in with a
placeholder and are numbered after the checks: with `preserve_insertion_order` (DuckDB's
default) the rows of one INSERT ... SELECT from a file take consecutive rowids in file
order, so a row's `rowid - min(rowid)` is its position in the file (the staged path relies
on the same order). Without rejected lines that position + 2 is the row as the user sees
it. That holds only while the insert has no join: files whose scores come from the
framework's catalogue (interaction codes) take the staged path.

With pseudonymisation on, imports take the staged path: the file's raw customer ids never
reach a table of the database, not even in a transaction that is rolled back. With it off,
the store's key check (`key_for_import`, which refuses raw ids in a pseudonymised store)
runs before anything is inserted; a refusal sends the file to the staged path too, which
reports it exactly as before.

Busy database: the transaction runs under the store's write lock (taken inside
`connect`, as every write), and the "already imported" check runs under that lock, before
BEGIN when the hash is ready and again inside the transaction, which began under the lock
and so sees every earlier batch. The audit row is written in the same transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from cxdata.errors import IngestError, Problem
from cxdata.ingest.csv_reader import (
    csv_params,
    csv_source,
    raw_header,
    rejected_lines,
    sniff_csv,
    utf8_label,
)
from cxdata.ingest.formats import sniff_format
from cxdata.ingest.mapping import detect_columns
from cxdata.ingest.plan import Plan, build_plan, number, run, stage_catalogue, timestamp
from cxdata.ingest.readers import (
    Staged,
    duplicate_headers,
    header_problems,
    quote,
    source_types,
    starts_with_ascii,
    text_columns,
    unguarded,
)
from cxdata.ingest.result import ImportJob, IngestResult, store_batch_with_sha
from cxdata.ingest.validate import rules_for, stage_warning
from cxdata.ingest.write import (
    CUSTOMER_VALUES,
    collect_customer_values,
    infer_types,
    known_stages,
    observation_values,
    plan_value_columns,
    record_batch,
    record_import,
    stage_reference,
    write_customer_values,
)
from cxdata.store.privacy import PseudonymError, key_for_import

_FIRST_ROW = 2  # the header is row 1
_GUARD = "cxdata direct ingest: a row fails a check"


class _Fallback(Exception):
    """A check failed: roll back and let the staged path report the problems."""


def ingest_csv_direct(con: duckdb.DuckDBPyConnection, job: ImportJob) -> IngestResult | None:
    """Import a clean long-format UTF-8 CSV in one pass; None (and nothing written) when
    the file is of another kind, fails any check, or is to be pseudonymised."""
    if job.store.settings.pseudonymise:
        return None
    label = utf8_label(job.path) if job.path.stat().st_size else None
    if (
        label is None
        or job.mapping.is_wide
        or job.mapping.row_ids
        or sniff_format(job.path) != "csv"
    ):
        return None
    if not _insertion_order_kept(con):
        return None
    try:
        delimiter, quote_char, newline = sniff_csv(con, job.path)
        raw = raw_header(con, job.path, delimiter, newline)
        source = csv_source(newline)
        params = csv_params(job.path, delimiter)
        raw_types = source_types(con, source, params)
        types = unguarded(raw_types)
        staged = Staged(job.name, "csv", list(types), types, 0, label, delimiter)
        columns = detect_columns(staged.headers, job.mapping, job.name)
    except (duckdb.Error, IngestError):
        return None
    # Header problems the staged path reports: repeated, empty or reserved headers.
    if (
        duplicate_headers(job.name, raw)
        or any(h is None or not h.strip() for h in raw)
        or header_problems(job.name, staged.headers)
    ):
        return None
    framework_stages = stage_catalogue(con)
    catalogue = framework_stages is not None
    plan = build_plan(staged, columns, job.mapping, job.store.settings, catalogue)
    # Scores looked up in the framework's catalogue would put a join into the insert, and a
    # join may hand rows to the insert out of file order (seen at 1M rows), which breaks
    # the rowid numbering: such files take the staged path, which numbers rows first.
    if plan.problems or len(plan.sources) != 1 or plan.codes_score:
        return None
    parsed = [plan.columns[c] for c in ("score", "observed_at") if c in plan.columns]
    reader = f"(SELECT {text_columns(raw_types, parsed)} FROM {source})"
    params["study"] = job.study or Path(job.name).stem
    job.report(0.1, f"Reading and checking {job.name}")
    with job.store.write_lock():  # one writer per process, as every write
        if job.digest.done():  # a re-upload is usually hashed by now: nothing to read
            already = store_batch_with_sha(con, job.digest.result())
            if already is not None:
                return IngestResult(job.name, already, 0, 0, already_imported=True)
        con.execute("BEGIN TRANSACTION")
        try:
            if key_for_import(con, job.store.settings) is not None:  # pseudonymise was checked
                raise _Fallback
            batch_id = _next_batch_id(con)
            # Read without quoting (the sniffer found none, or quotes that do not pair up),
            # a value starting with a quote is an unclosed one: the insert fails on one in
            # the columns it reads, `_finish` on one in the attribute and outcome columns
            # (checked in their small table of distinct values, so the insert need not
            # read them).
            unquoted = staged.headers if quote_char in ("", "(empty)") else []
            later = set(plan_value_columns(plan))
            now = [c for c in unquoted if c not in later]
            _insert_checked(con, job, plan, reader, params, now, batch_id)
            result = _finish(con, job, staged, plan, framework_stages, reader, params,
                             [c for c in unquoted if c in later], batch_id)  # fmt: skip
            if not result.already_imported:
                record_import(con, job.actor, result, job.digest.result(), job.store.settings)
        except (_Fallback, PseudonymError, duckdb.Error):
            con.execute("ROLLBACK")
            return None
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("ROLLBACK" if result.already_imported else "COMMIT")
    return result


def _next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id `nextval('batch_id_seq')` will draw, without drawing it; no batch and no
    observation may have it yet (else the staged path takes the file)."""
    row = con.execute(
        """SELECT coalesce(last_value + increment_by, start_value) FROM duckdb_sequences()
           WHERE sequence_name = 'batch_id_seq'"""
    ).fetchone()
    assert row is not None
    batch_id = int(row[0])
    taken = con.execute(
        """SELECT (SELECT count(*) FROM batches WHERE batch_id >= $b)
                + (SELECT count(*) FROM observations WHERE batch_id >= $b)""",
        {"b": batch_id},
    ).fetchone()
    if taken is None or taken[0]:
        raise _Fallback
    return batch_id


def _insertion_order_kept(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    return bool(row and row[0])


def _insert_checked(
    con: duckdb.DuckDBPyConnection,
    job: ImportJob,
    plan: Plan,
    reader: str,
    params: dict[str, Any],
    unquoted: list[str],
    batch_id: int,
) -> None:
    """INSERT the file's rows as observations of `batch_id`, not yet numbered; raises if
    any row fails a rule or has a value in an `unquoted` column that starts with a quote."""
    rules = rules_for(plan, job.mapping, job.store.settings)
    for rule in rules:
        params.update(rule.params)
    conditions = [rule.condition for rule in rules]
    conditions += [starts_with_ascii(quote(c), '"') for c in unquoted]
    failing = " OR ".join(f"({c})" for c in conditions)
    guard = f"CASE WHEN {failing} THEN error('{_GUARD}') ELSE 0 END" if conditions else "0"
    select = observation_values(plan, plan.sources[0], str(batch_id), guard)
    # The rules and the values parse the score and the timestamp several times (DuckDB
    # does not share work inside CASE): parse each once, below, and refer to the result.
    parsed = {}
    if "score" in plan.columns:
        parsed[number(plan.expr("score"))] = "cx_parsed_score"
    if "observed_at" in plan.columns:
        parsed[timestamp(plan.expr("observed_at"))] = "cx_parsed_observed_at"
    for expr, name in parsed.items():
        select = select.replace(expr, name)
    extra = "".join(f", {expr} AS {name}" for expr, name in parsed.items())
    source = f"(SELECT *{extra} FROM {reader})"
    run(con, f"INSERT INTO observations SELECT {select} FROM {source}", params)


def _finish(
    con: duckdb.DuckDBPyConnection,
    job: ImportJob,
    staged: Staged,
    plan: Plan,
    framework_stages: list[str] | None,
    reader: str,
    params: dict[str, Any],
    unquoted: list[str],
    batch_id: int,
) -> IngestResult:
    """Check what the insert cannot (rejected lines, observation ids), number the rows,
    then write attributes and the batch record (the caller commits or rolls back)."""
    if rejected_lines(con):
        raise _Fallback
    sha = job.digest.result()
    already = store_batch_with_sha(con, sha)
    if already is not None:
        return IngestResult(staged.file, already, 0, 0, already_imported=True)
    # Distinct hashes are cheaper to count than the text; a collision only sends the file
    # to the staged path, which checks the ids themselves. (hash(NULL) is not NULL.)
    repeats = (
        "count(observation_id) - count(DISTINCT hash(observation_id)) "
        "FILTER (WHERE observation_id IS NOT NULL)"
        if "observation_id" in plan.columns
        else "0"
    )
    # Without a study column every row has the batch's study: no need to collect it.
    studies_sql = "string_agg(DISTINCT study, ', ')" if "study" in plan.columns else "$study"
    row = run(
        con,
        f"""SELECT count(*), min(rowid), max(rowid), {studies_sql}, {repeats}
            FROM observations WHERE batch_id = $batch""",
        {"batch": batch_id, "study": params["study"]},
    ).fetchone()
    assert row is not None
    n_rows, first_rowid, last_rowid, studies, repeated_ids = row
    if n_rows == 0 or repeated_ids or last_rowid - first_rowid + 1 != n_rows:
        raise _Fallback
    if "observation_id" in plan.columns and _ids_already_stored(con, batch_id):
        raise _Fallback
    collect_customer_values(con, plan, reader, params)
    # The insert read only the columns it needs, and DuckDB checks UTF-8 only in the
    # columns it reads: a Windows-1252 value in an attribute column is rejected only by
    # this second read (the staged path then reads the file in its legacy encoding). Done
    # before the batch id is drawn, as a sequence does not roll back.
    if rejected_lines(con) or _starts_with_quote(con, unquoted):
        raise _Fallback
    drawn = con.execute("SELECT nextval('batch_id_seq')").fetchone()
    if drawn is None or drawn[0] != batch_id:
        raise _Fallback
    con.execute(
        "UPDATE observations SET source_row = rowid - ? + ? WHERE batch_id = ?",
        [first_rowid, _FIRST_ROW, batch_id],
    )
    staged.rows = int(n_rows)
    known = known_stages(con, job.mapping, framework_stages)
    reference = stage_reference(con, job.mapping, framework_stages)
    warnings = _unknown_stages(con, staged, plan, batch_id, known, reference)
    extras = infer_types(con, plan.extras, staged.source_types)
    customers = write_customer_values(con, plan, extras, batch_id)
    if customers is None:
        row = con.execute(
            "SELECT count(DISTINCT customer_id) FROM observations WHERE batch_id = ?", [batch_id]
        ).fetchone()
        customers = int(row[0]) if row else 0
    counts = (n_rows, customers, studies)
    record_batch(con, batch_id, staged, sha, plan, job.mapping, extras, warnings, counts)
    return IngestResult(
        staged.file,
        batch_id,
        int(n_rows),
        int(customers),
        columns=plan.columns,
        extras=extras,
        warnings=warnings,
        description=staged.describe(),
    )


def _starts_with_quote(con: duckdb.DuckDBPyConnection, columns: list[str]) -> bool:
    """Does a value of these CUSTOMER_VALUES columns start with a quote?"""
    if not columns:
        return False
    found = " OR ".join(starts_with_ascii(quote(c), '"') for c in columns)
    row = con.execute(f"SELECT count(*) FROM {CUSTOMER_VALUES} WHERE {found}").fetchone()
    return bool(row and row[0])


def _ids_already_stored(con: duckdb.DuckDBPyConnection, batch_id: int) -> bool:
    """Does any observation id of the batch being imported exist in an earlier batch?"""
    row = con.execute(
        """SELECT count(*) FROM (SELECT observation_id FROM observations WHERE batch_id = $p) n
           SEMI JOIN (SELECT observation_id FROM observations WHERE batch_id <> $p) o
           ON o.observation_id = n.observation_id""",
        {"p": batch_id},
    ).fetchone()
    return bool(row and row[0])


def _unknown_stages(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: Plan,
    batch_id: int,
    known: list[str],
    reference: str,
) -> list[Problem]:
    """Stages outside the known ones: kept, reported as warnings (first row, count)."""
    if not known or "stage" not in plan.columns:
        return []
    rows = con.execute(
        """SELECT stage, count(*), min(source_row) FROM observations
           WHERE batch_id = ? AND NOT list_contains(?, stage) GROUP BY stage ORDER BY stage""",
        [batch_id, known],
    ).fetchall()
    column = plan.columns["stage"]
    return [
        stage_warning(staged.file, int(pos), column, stage, int(n), reference)
        for stage, n, pos in rows
    ]
