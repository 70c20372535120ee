"""Framework files: TOML (readable, commented by hand) and CSV (edited in a spreadsheet).

Parsers only turn a file into entries that remember their row and column; the checks live
in `cxdata.framework.model.build`, so both formats report problems the same way.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cxdata.config import Settings
from cxdata.errors import IngestError, Problem
from cxdata.framework.model import Framework, build

CSV_COLUMNS = ("stage", "touchpoint", "code", "label", "score", "moment_of_truth")
STAGE_KEYS = {"name", "touchpoints"}
INTERACTION_KEYS = {"code", "label", "stage", "touchpoint", "score", "moment_of_truth"}
Entries = tuple[list[dict[str, Any]], list[dict[str, Any]], list[Problem]]


def _text(value: Any) -> str | None:
    """Trimmed text, None when empty (a TOML number used as a code is read as text)."""
    text = "" if value is None else str(value).strip()
    return text or None


def _prefixed(table: str) -> Callable[[str], str]:
    return lambda key: f"{table}.{key}"


def parse_toml(file: str, text: str) -> Entries:
    """[[stages]] and [[interactions]] tables; ROW is the entry's position in its array."""
    problems: list[Problem] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [], [Problem(file, None, None, None, f"not a valid TOML file: {exc}")]
    for key in sorted(set(doc) - {"stages", "interactions"}):
        problems.append(Problem(file, None, key, None, "unknown key (use stages, interactions)"))
    stages: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []
    for table, keys, out in (
        ("stages", STAGE_KEYS, stages),
        ("interactions", INTERACTION_KEYS, interactions),
    ):
        items = doc.get(table, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            problems.append(Problem(file, None, table, None, f"write each entry as [[{table}]]"))
            continue
        for row, item in enumerate(items, start=1):
            entry: dict[str, Any] = {"row": row, "col": _prefixed(table)}
            for key in sorted(set(item) - keys):
                problems.append(Problem(file, row, f"{table}.{key}", None, "unknown key"))
            for key in keys & set(item):
                entry[key] = item[key] if key in ("score", "moment_of_truth") else _text(item[key])
            if table == "stages":
                tps = item.get("touchpoints", [])
                if not isinstance(tps, list):
                    problems.append(
                        Problem(
                            file,
                            row,
                            "stages.touchpoints",
                            str(tps),
                            "touchpoints must be a list of names",
                        )
                    )
                    tps = []
                entry["touchpoints"] = [t for t in map(_text, tps) if t]
            out.append(entry)
    return stages, interactions, problems


def parse_csv(file: str, text: str, first_row: int = 2) -> Entries:
    """One row per interaction; rows without a code only declare a stage and touchpoint.

    Stage and touchpoint order is their order of first appearance. ROW counts the header
    as row 1, as a spreadsheet shows it (`first_row` 1: a grid's rows, without the header).
    """
    sample = text.split("\n", 1)[0]
    delimiter = max((";", "\t", ","), key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader, [])]
    problems = [
        Problem(
            file, 1, c, None, f"required column {c} is missing (columns: {', '.join(CSV_COLUMNS)})"
        )
        for c in ("stage", "code", "score")
        if c not in header
    ]
    problems += [
        Problem(file, 1, h, None, f"unknown column (columns: {', '.join(CSV_COLUMNS)})")
        for h in header
        if h and h not in CSV_COLUMNS
    ]
    if problems:
        return [], [], problems
    declared: dict[str, dict[str, Any]] = {}
    interactions: list[dict[str, Any]] = []
    for row, cells in enumerate(reader, start=first_row):
        values = dict(zip(header, cells, strict=False))
        entry: dict[str, Any] = {k: _text(values.get(k)) for k in CSV_COLUMNS}
        entry.update(row=row, col=lambda key: key)
        if not any(entry[k] for k in CSV_COLUMNS):
            continue  # a blank line
        stage, tp = entry["stage"], entry["touchpoint"]
        if stage is None:
            problems.append(Problem(file, row, "stage", None, "stage is empty"))
            continue
        spec = declared.setdefault(
            stage, {"row": row, "col": entry["col"], "name": stage, "touchpoints": []}
        )
        if tp and tp not in spec["touchpoints"]:
            spec["touchpoints"].append(tp)
        if entry["code"]:
            interactions.append(entry)
        elif entry["label"] or entry["score"]:
            problems.append(
                Problem(
                    file,
                    row,
                    "code",
                    None,
                    "code is empty (a row without a code only declares a stage and touchpoint)",
                )
            )
    return list(declared.values()), interactions, problems


def _number(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else repr(float(score))


def _quote(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def framework_toml(fw: Framework, comment: str = "") -> str:
    """The framework as TOML: stages in journey order, then the interaction catalogue."""
    lines = [f"# {c}".rstrip() for c in comment.splitlines()]
    for stage in fw.stages:
        tps = ", ".join(_quote(t) for t in stage.touchpoints)
        lines += ["", "[[stages]]", f"name = {_quote(stage.name)}", f"touchpoints = [{tps}]"]
    for x in fw.interactions:
        lines += [
            "",
            "[[interactions]]",
            f"code = {_quote(x.code)}",
            f"label = {_quote(x.label)}",
            f"stage = {_quote(x.stage)}",
        ]
        if x.touchpoint is not None:
            lines.append(f"touchpoint = {_quote(x.touchpoint)}")
        lines.append(f"score = {_number(x.score)}")
        if x.moment_of_truth:
            lines.append("moment_of_truth = true")
    return "\n".join(lines).lstrip("\n") + "\n"


def framework_csv(fw: Framework) -> str:
    """The framework as CSV, grouped by stage and touchpoint; touchpoints without
    interactions (and empty stages) get a row with an empty code, so order survives."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for stage in fw.stages:
        mine = [x for x in fw.interactions if x.stage == stage.name]
        rows = 0
        for tp in (None, *stage.touchpoints):
            here = [x for x in mine if x.touchpoint == tp]
            for x in here:
                mot = "true" if x.moment_of_truth else "false"
                writer.writerow([x.stage, tp or "", x.code, x.label, _number(x.score), mot])
            if tp is not None and not here:
                writer.writerow([stage.name, tp, "", "", "", ""])
            rows += len(here) + (tp is not None and not here)
        if not rows:
            writer.writerow([stage.name, "", "", "", "", ""])
    return out.getvalue()


def load_framework_file(
    path: Path | str, settings: Settings | None = None, name: str | None = None
) -> Framework:
    """Read and check a framework file (TOML or CSV, by suffix); IngestError lists problems."""
    path, cfg = Path(path), settings or Settings.from_env()
    file = name or str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise IngestError([Problem(file, None, None, None, "a framework file is .toml or .csv")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel's CSV on Windows
    parse = parse_toml if suffix == ".toml" else parse_csv
    stages, interactions, problems = parse(file, text)
    try:
        if stages or interactions or not problems:  # else the file could not be read
            framework = build(file, stages, interactions, cfg)
    except IngestError as exc:
        problems += exc.problems
    if problems:
        # TOML: stage problems before interaction problems; CSV: by row.
        order = lambda p: ((p.column or "").startswith("interactions."), p.row or 0)  # noqa: E731
        raise IngestError(sorted(problems, key=order))
    return framework


def save_framework_file(fw: Framework, path: Path | str) -> None:
    """Write `fw` as TOML or CSV (by suffix); loading the file gives `fw` back."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise ValueError(f"{path}: a framework file is .toml or .csv")
    text = framework_toml(fw) if suffix == ".toml" else framework_csv(fw)
    path.write_text(text, encoding="utf-8", newline="")


def framework_table(fw: Framework | None) -> pd.DataFrame:
    """The framework as the CSV layout's table (one row per interaction, rows with an empty
    code declaring a touchpoint or stage), for editing in a grid; no rows for None."""
    text = framework_csv(fw) if fw is not None else ",".join(CSV_COLUMNS) + "\n"
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    table["score"] = pd.to_numeric(table["score"].replace("", None), errors="coerce").astype(float)
    table["moment_of_truth"] = table["moment_of_truth"].eq("true")
    return table


def framework_from_table(
    table: pd.DataFrame, settings: Settings | None = None, name: str = "the edited table"
) -> Framework:
    """Check an edited table (the `framework_table` layout) with the same checks as a CSV
    file; IngestError lists every problem, ROW being the table's row counted from 1."""
    cfg = settings or Settings.from_env()
    columns = [c for c in CSV_COLUMNS if c in table.columns]
    rows = table.reindex(columns=columns).astype(object)
    rows = rows.where(rows.notna(), None)
    rows = rows.map(lambda v: ("true" if v else "false") if isinstance(v, bool) else v)
    text = rows.to_csv(index=False, lineterminator="\n")
    stages, interactions, problems = parse_csv(name, text, first_row=1)
    try:
        framework = build(name, stages, interactions, cfg)
    except IngestError as exc:
        problems += exc.problems
    if problems:
        raise IngestError(sorted(problems, key=lambda p: p.row or 0))
    return framework
