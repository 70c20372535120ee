"""Row checks over the staged table, all rules at once, in the engine (pandera-style lazy
validation: every failing cell comes back as file, row, column, value, reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from cxdata.config import Settings
from cxdata.errors import Problem
from cxdata.ingest.mapping import Mapping
from cxdata.ingest.plan import Plan, catalogue_score, number, run, text, timestamp
from cxdata.ingest.readers import STAGE_TABLE, Staged


@dataclass(frozen=True)
class Rule:
    """Rows where `condition` holds are a problem in `column` (the header the user sees);
    `{value}` in the reason is replaced by the row's value."""

    column: str
    value: str
    condition: str
    reason: str
    params: dict[str, object] = field(default_factory=dict)


def rules_for(plan: Plan, mapping: Mapping, cfg: Settings) -> list[Rule]:
    """The checks that apply to this file, given which columns it has."""
    cols = plan.columns
    rules = []
    scale = f"{cfg.score_min:g}..{cfg.score_max:g}"
    if "customer_id" in cols:
        cid = text(cols["customer_id"])
        rules.append(Rule(cols["customer_id"], "NULL", f"{cid} IS NULL", "customer id is empty"))
    if mapping.is_wide:
        lo, hi = mapping.wide_scale or (cfg.score_min, cfg.score_max)
        for source in plan.sources:
            assert source.score_column is not None
            raw = text(source.score_column)
            keep = source.keep
            rating = number(raw)
            rules += [
                Rule(
                    source.score_column,
                    raw,
                    f"{keep} AND {rating} IS NULL",
                    "rating is not a number nor a not-applicable code",
                    source.params,
                ),
                Rule(
                    source.score_column,
                    raw,
                    f"{keep} AND {rating} NOT BETWEEN {lo} AND {hi}",
                    f"rating is outside the scale {lo:g}..{hi:g}",
                    source.params,
                ),
            ]
    else:
        if "stage" in cols:
            stage = text(cols["stage"])
            rules.append(Rule(cols["stage"], "NULL", f"{stage} IS NULL", "stage is empty"))
        if plan.codes_score:
            rules += code_rules(plan)
        if "score" in cols:
            raw = text(cols["score"])
            score = number(raw)
            code = plan.expr("interaction") if plan.codes_score else "NULL"
            rules += [
                Rule(
                    cols["score"],
                    "NULL",
                    f"{raw} IS NULL AND {code} IS NULL",
                    f"score is empty (every observation needs a score on the {scale} scale)",
                ),
                Rule(
                    cols["score"],
                    raw,
                    f"{raw} IS NOT NULL AND {score} IS NULL",
                    "score is not a number",
                ),
                Rule(
                    cols["score"],
                    raw,
                    f"{score} NOT BETWEEN {cfg.score_min} AND {cfg.score_max}",
                    f"score is outside the scale {scale}",
                ),
            ]
    if "observed_at" in cols:
        raw = text(cols["observed_at"])
        rules.append(
            Rule(
                cols["observed_at"],
                raw,
                f"{raw} IS NOT NULL AND {timestamp(raw)} IS NULL",
                "timestamp cannot be read (write e.g. 2026-03-14 09:30 or 14.03.2026 09:30)",
            )
        )
    return rules


def code_rules(plan: Plan) -> list[Rule]:
    """With an active framework, a row without a score needs a known interaction code."""
    header, code = plan.columns["interaction"], plan.expr("interaction")
    raw = plan.expr("score")
    rules = [
        Rule(
            header,
            code,
            f"{raw} IS NULL AND {code} IS NOT NULL AND {catalogue_score(code)} IS NULL",
            "interaction code {value} is not in the journey framework",
        )
    ]
    if "score" not in plan.columns:
        reason = "interaction is empty (the file has no score column: every row needs a code "
        rules.append(Rule(header, "NULL", f"{code} IS NULL", reason + "from the framework)"))
    return rules


def find_problems(
    con: duckdb.DuckDBPyConnection, staged: Staged, plan: Plan, rules: list[Rule], limit: int
) -> tuple[list[Problem], int]:
    """Problems found by the rules and the observation-id checks, the first `limit` in
    file order, and how many there are in all.

    One aggregate pass counts each check; only checks that found something are listed
    row by row, so a clean file costs a single scan."""
    checks: list[tuple[str, str]] = []  # (count over the staged rows, the failing rows)
    params: dict[str, object] = {}
    for i, rule in enumerate(rules):
        params[f"col_{i}"], params[f"reason_{i}"] = rule.column, rule.reason
        params.update(rule.params)
        value = f"CAST({rule.value} AS VARCHAR)"
        checks.append((
            f"count(*) FILTER (WHERE {rule.condition})",
            f"SELECT rowid AS pos, $col_{i} AS col, {value} AS val, "
            f"replace($reason_{i}, '{{value}}', coalesce({value}, '')) AS reason "
            f"FROM {STAGE_TABLE} WHERE {rule.condition}",
        ))  # fmt: skip
    if "observation_id" in plan.columns:
        oid, params["oid_col"] = plan.expr("observation_id"), plan.columns["observation_id"]
        ids = f"(SELECT rowid AS pos, {oid} AS oid FROM {STAGE_TABLE})"
        checks.append((
            f"count({oid}) - count(DISTINCT {oid})",
            f"""SELECT pos, $oid_col AS col, oid AS val,
                       'observation_id appears more than once in the file' AS reason
                FROM (SELECT *, count(*) OVER (PARTITION BY oid) AS n FROM {ids})
                WHERE oid IS NOT NULL AND n > 1""",
        ))  # fmt: skip
        stored = "(SELECT observation_id, min(batch_id) AS batch_id FROM observations GROUP BY 1)"
        checks.append((
            f"(SELECT count(*) FROM {ids} s SEMI JOIN observations o ON o.observation_id = s.oid)",
            f"""SELECT s.pos, $oid_col AS col, s.oid AS val,
                       'observation_id already imported in batch ' || o.batch_id AS reason
                FROM {ids} s JOIN {stored} o ON o.observation_id = s.oid""",
        ))  # fmt: skip
    if not checks:
        return [], 0
    counts = run(
        con, f"SELECT {', '.join(c for c, _ in checks)} FROM {STAGE_TABLE}", params
    ).fetchone()
    failing = [detail for (_, detail), n in zip(checks, counts or (), strict=True) if n]
    if not failing:
        return [], 0
    rows = run(
        con,
        f"""SELECT pos, col, val, reason FROM ({" UNION ALL ".join(failing)})
            ORDER BY pos, col LIMIT {int(limit)}""",
        params,
    ).fetchall()
    problems = [
        Problem(staged.file, staged.file_row(int(pos)), col, val, reason)
        for pos, col, val, reason in rows
    ]
    return problems, sum(int(n) for n in counts or ())


def unknown_stages(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    plan: Plan,
    known: list[str],
    reference: str,
) -> list[Problem]:
    """Stages outside the known ones are kept, and reported as a warning."""
    if not known:
        return []
    found: dict[str, tuple[int, int, str | None]] = {}
    for source in plan.sources:
        rows = run(
            con,
            f"""SELECT stage, count(*), min(rowid) FROM (
                    SELECT {source.stage} AS stage, rowid FROM {STAGE_TABLE}
                    WHERE {source.keep}) WHERE stage IS NOT NULL AND NOT list_contains($known,
                    stage) GROUP BY stage""",
            {**source.params, "known": known},
        ).fetchall()
        for stage, n, pos in rows:
            prev = found.get(stage, (0, pos, source.score_column))
            found[stage] = (prev[0] + n, min(prev[1], pos), prev[2])
    column = plan.columns.get("stage")
    return [
        stage_warning(staged.file, staged.file_row(pos), column or item_col, stage, n, reference)
        for stage, (n, pos, item_col) in sorted(found.items())
    ]


def stage_warning(
    file: str, row: int, column: str | None, stage: str, n: int, reference: str
) -> Problem:
    """The warning for a stage outside the known stages (first row, rows with it);
    `reference` names where they come from and what to do (`write.stage_reference`)."""
    return Problem(
        file, row, column, stage, f"stage is not in {reference} ({n} rows; kept)",
        severity="warning",
    )  # fmt: skip
