"""The journey framework as data: ordered stages, their touchpoints and the interaction
catalogue, and the checks that build one from parsed entries.

Observers may record an interaction code instead of a score; the catalogue supplies the
graded score.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from cxdata.config import Settings
from cxdata.errors import IngestError, Problem


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


def number(value: Any) -> float | None:
    """A score as a number: TOML numbers, or text with a decimal point or comma."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def flag(value: Any) -> bool | None:
    """true/false, yes/no, ja/nein, 1/0 or x; empty means false; None if unreadable."""
    if isinstance(value, bool):
        return value
    word = "" if value is None else str(value).strip().lower()
    return {
        "": False,
        "false": False,
        "no": False,
        "0": False,
        "nein": False,
        "true": True,
        "yes": True,
        "1": True,
        "ja": True,
        "x": True,
    }.get(word)
