"""The journey framework: ordered stages, their touchpoints and the interaction catalogue.

Observers may record an interaction code instead of a score; the catalogue supplies the
graded score. Frameworks are versioned in the store (the latest is the active one), so an
import never silently rewrites the catalogue earlier batches were scored with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxdata.audit import DEFAULT_ACTOR, record
from cxdata.config import Settings
from cxdata.framework_files import (
    flag,
    framework_csv,
    framework_toml,
    number,
    parse_csv,
    parse_toml,
)
from cxdata.ingest.problems import IngestError, Problem
from cxdata.store import Store

__all__ = [
    "Framework",
    "Interaction",
    "Stage",
    "active_framework",
    "framework_versions",
    "import_framework",
    "load_framework_file",
    "save_framework",
    "save_framework_file",
]


@dataclass(frozen=True)
class Stage:
    """A journey stage and its touchpoints, in journey order."""

    name: str
    touchpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Interaction:
    """A catalogue entry: observing `code` means `score` on the graded scale."""

    code: str
    label: str
    stage: str
    touchpoint: str | None
    score: float
    moment_of_truth: bool = False


@dataclass(frozen=True)
class Framework:
    """Stages in journey order and the interaction catalogue (grouped by stage, touchpoint)."""

    stages: tuple[Stage, ...]
    interactions: tuple[Interaction, ...]

    def summary(self) -> str:
        touchpoints = sum(len(s.touchpoints) for s in self.stages)
        return (
            f"{len(self.stages)} stages, {touchpoints} touchpoints, "
            f"{len(self.interactions)} interactions"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": [{"name": s.name, "touchpoints": list(s.touchpoints)} for s in self.stages],
            "interactions": [asdict(i) for i in self.interactions],
        }

    def sha256(self) -> str:
        """Content hash, independent of the file format it came from."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build(
    file: str, stages: list[dict[str, Any]], interactions: list[dict[str, Any]], cfg: Settings
) -> Framework:
    """Check parsed entries (each with `row` and `col` naming) and build the framework.

    Every problem is collected before raising, so a researcher fixes a file once.
    """
    problems: list[Problem] = []

    def bad(entry: dict[str, Any], key: str, value: Any, reason: str) -> None:
        shown = None if value is None else str(value)
        problems.append(Problem(file, entry["row"], entry["col"](key), shown, reason))

    out_stages: dict[str, Stage] = {}
    first_row: dict[str, int] = {}
    for entry in stages:
        name = entry.get("name")
        if not name:
            bad(entry, "name", None, "stage name is empty")
            continue
        if name in out_stages:
            bad(
                entry,
                "name",
                name,
                f"stage {name} appears more than once (first in row {first_row[name]})",
            )
            continue
        touchpoints: list[str] = []
        for tp in entry.get("touchpoints", []):
            if tp in touchpoints:
                bad(entry, "touchpoints", tp, f"touchpoint {tp} appears twice under stage {name}")
            else:
                touchpoints.append(tp)
        out_stages[name] = Stage(name, tuple(touchpoints))
        first_row[name] = entry["row"]
    scale = f"{cfg.score_min:g}..{cfg.score_max:g}"
    seen: dict[str, int] = {}
    out: list[tuple[tuple[int, int, int], Interaction]] = []
    positions = {name: i for i, name in enumerate(out_stages)}
    for k, entry in enumerate(interactions):
        code, stage, tp = entry.get("code"), entry.get("stage"), entry.get("touchpoint")
        before = len(problems)
        if not code:
            bad(entry, "code", None, "code is empty")
        elif code in seen:
            bad(
                entry,
                "code",
                code,
                f"code {code} appears more than once (first in row {seen[code]})",
            )
        else:
            seen[code] = entry["row"]
        if not stage:
            bad(entry, "stage", None, "stage is empty")
        elif stage not in out_stages:
            bad(entry, "stage", stage, f"stage {stage} is not a stage of the framework")
        elif tp and tp not in out_stages[stage].touchpoints:
            bad(entry, "touchpoint", tp, f"touchpoint {tp} is not under stage {stage}")
        score = number(entry.get("score"))
        if entry.get("score") in (None, ""):
            bad(entry, "score", None, f"score is empty (a graded score on the {scale} scale)")
        elif score is None:
            bad(entry, "score", entry.get("score"), "score is not a number")
        elif not cfg.score_min <= score <= cfg.score_max:
            bad(entry, "score", entry.get("score"), f"score is outside the scale {scale}")
        mot = flag(entry.get("moment_of_truth"))
        if mot is None:
            bad(
                entry,
                "moment_of_truth",
                entry.get("moment_of_truth"),
                "moment_of_truth must be true or false",
            )
        if len(problems) == before and code and stage and score is not None and mot is not None:
            tps = out_stages[stage].touchpoints
            key = (positions[stage], tps.index(tp) if tp else -1, k)
            out.append(
                (key, Interaction(code, entry.get("label") or "", stage, tp or None, score, mot))
            )
    if not stages and not problems:
        problems.append(Problem(file, None, None, None, "the framework declares no stages"))
    if problems:
        raise IngestError(problems)
    return Framework(tuple(out_stages.values()), tuple(i for _, i in sorted(out)))


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


def save_framework(
    store: Store, fw: Framework, source_name: str, *, actor: str = DEFAULT_ACTOR
) -> tuple[int, bool]:
    """Store `fw` as a new version unless it equals the active one: (version, created)."""
    digest = fw.sha256()
    with store.transaction() as con:
        row = con.execute(
            "SELECT version, sha256 FROM framework_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[1] == digest:
            return int(row[0]), False
        version = 1 if row is None else int(row[0]) + 1
        con.execute(
            "INSERT INTO framework_versions VALUES (?, now(), ?, ?)", [version, source_name, digest]
        )
        con.executemany(
            "INSERT INTO framework_stages VALUES (?, ?, ?)",
            [[version, i, s.name] for i, s in enumerate(fw.stages)],
        )
        touchpoints = [
            [version, s.name, i, t] for s in fw.stages for i, t in enumerate(s.touchpoints)
        ]
        if touchpoints:
            con.executemany("INSERT INTO framework_touchpoints VALUES (?, ?, ?, ?)", touchpoints)
        if fw.interactions:
            con.executemany(
                "INSERT INTO framework_interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [version, i, x.code, x.label, x.stage, x.touchpoint, x.score, x.moment_of_truth]
                    for i, x in enumerate(fw.interactions)
                ],
            )
        details = {"version": version, "file": source_name, "sha256": digest}
        record(con, actor, "framework_import", details | {"summary": fw.summary()})
    return version, True


def import_framework(store: Store, path: Path | str, *, actor: str = DEFAULT_ACTOR) -> int:
    """Check and store a framework file; returns the active version afterwards."""
    fw = load_framework_file(path, store.settings)
    return save_framework(store, fw, Path(path).name, actor=actor)[0]


def active_framework(store: Store, version: int | None = None) -> Framework | None:
    """The active (latest) framework, or the given version; None when there is none."""
    with store.connect() as con:
        if version is None:
            row = con.execute("SELECT max(version) FROM framework_versions").fetchone()
            if row is None or row[0] is None:
                return None
            version = int(row[0])
        names = con.execute(
            "SELECT name FROM framework_stages WHERE version = ? ORDER BY position", [version]
        ).fetchall()
        tps = con.execute(
            "SELECT stage, name FROM framework_touchpoints WHERE version = ? ORDER BY position",
            [version],
        ).fetchall()
        rows = con.execute(
            "SELECT code, label, stage, touchpoint, score, moment_of_truth "
            "FROM framework_interactions WHERE version = ? ORDER BY position",
            [version],
        ).fetchall()
    if not names:
        return None
    stages = tuple(Stage(n, tuple(t for s, t in tps if s == n)) for (n,) in names)
    return Framework(stages, tuple(Interaction(*r) for r in rows))


def framework_versions(store: Store) -> pd.DataFrame:
    """Every stored version, newest first, with its counts; the first row is active."""
    return store.query_df(
        """SELECT v.version, v.created_at, v.source_name,
                  (SELECT count(*) FROM framework_stages s WHERE s.version = v.version)
                      AS stages,
                  (SELECT count(*) FROM framework_touchpoints t WHERE t.version = v.version)
                      AS touchpoints,
                  (SELECT count(*) FROM framework_interactions i WHERE i.version = v.version)
                      AS interactions,
                  v.sha256
           FROM framework_versions v ORDER BY v.version DESC"""
    )
