"""Column mapping: file headers -> canonical observation columns.

Headers are matched case-, accent- and punctuation-insensitively against English and
German synonyms; a mapping file (TOML) overrides or completes the detection and
describes wide survey exports and outcomes.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cxdata.errors import IngestError, Problem
from cxdata.ingest.toml_lines import key_line, syntax_error_line

REQUIRED = ("customer_id", "stage", "score")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id",
        "customer",
        "customer id",
        "customer no",
        "customer number",
        "client",
        "client id",
        "respondent",
        "respondent id",
        "participant",
        "participant id",
        "kunde",
        "kunden-id",
        "kundenid",
        "kundennummer",
        "kundennr",
        "kunden nr",
        "teilnehmer",
    ),
    "stage": (
        "stage",
        "journey stage",
        "phase",
        "step",
        "etappe",
        "stufe",
        "journey phase",
        "reisephase",
        "schritt",
    ),
    "score": (
        "score",
        "rating",
        "experience score",
        "bewertung",
        "punktzahl",
        "punkte",
        "wertung",
        "note",
    ),
    "touchpoint": (
        "touchpoint",
        "touch point",
        "contact point",
        "kontaktpunkt",
        "beruhrungspunkt",
    ),
    "channel": ("channel", "kanal", "vertriebskanal", "medium"),
    "interaction": ("interaction", "interaction code", "interaktion", "interaktionscode"),
    "observed_at": (
        "observed_at",
        "observed at",
        "timestamp",
        "date",
        "datetime",
        "time",
        "observed",
        "zeitpunkt",
        "datum",
        "zeit",
        "zeitstempel",
        "beobachtet am",
    ),
    "observer": ("observer", "observer id", "researcher", "beobachter", "beobachterin"),
    "method": ("method", "observation method", "methode", "erhebungsmethode"),
    "note": (
        "note",
        "notes",
        "comment",
        "comments",
        "remark",
        "notiz",
        "bemerkung",
        "kommentar",
        "anmerkung",
    ),
    "study": ("study", "study name", "project", "studie", "projekt"),
    "observation_id": (
        "observation_id",
        "observation id",
        "obs id",
        "beobachtungs-id",
        "beobachtungsid",
        "beobachtung id",
    ),
}
# "note" is a German word for a grade too; as a header it means a score only in German
# school contexts, so it is matched to `note` (free text), never to `score`.
SYNONYMS["score"] = tuple(s for s in SYNONYMS["score"] if s != "note")


def normalise(header: str) -> str:
    """Lower-case, strip accents and everything that is not a letter or digit."""
    text = unicodedata.normalize("NFKD", header.replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text.lower())


_LOOKUP = {normalise(s): canonical for canonical, syns in SYNONYMS.items() for s in syns}


@dataclass(frozen=True)
class WideItem:
    stage: str
    touchpoint: str | None = None


@dataclass(frozen=True)
class Outcome:
    column: str
    positive: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapping:
    """What a mapping file says; every part optional."""

    columns: dict[str, str] = field(default_factory=dict)
    wide_scale: tuple[float, float] | None = None
    not_applicable: tuple[str, ...] = ()
    wide_items: dict[str, WideItem] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # stored name -> source header
    stage_order: tuple[str, ...] = ()
    row_ids: bool = False  # each row is one respondent, id "<file stem>-<row number>"

    @property
    def is_wide(self) -> bool:
        return bool(self.wide_items)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_mapping(path: Path) -> Mapping:
    """Read a mapping TOML file; every mistake in it is reported with its key."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise IngestError([Problem(path.name, None, None, None, "file not found")]) from None
    return parse_mapping(content, path.name)


def parse_mapping(content: bytes, name: str) -> Mapping:
    """Parse mapping TOML (see the README for its tables)."""
    try:
        text = content.decode("utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise IngestError([Problem(name, None, None, None, f"not UTF-8 text: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        line = syntax_error_line(str(exc))
        raise IngestError([Problem(name, line, None, None, f"not valid TOML: {exc}")]) from None
    problems: list[Problem] = []

    def bad(key: str, reason: str) -> None:
        """A problem at the key's line of the mapping file (row = line number)."""
        problems.append(Problem(name, key_line(text, key), key, None, reason))

    allowed = set(SYNONYMS)
    columns = {}
    for canonical, source in dict(data.get("columns", {})).items():
        if canonical not in allowed:
            bad(f"columns.{canonical}", f"unknown canonical column; use one of {sorted(allowed)}")
        elif not isinstance(source, str):
            bad(f"columns.{canonical}", "must be the source header as a string")
        else:
            columns[canonical] = source

    wide = dict(data.get("wide", {}))
    scale: tuple[float, float] | None = None
    items: dict[str, WideItem] = {}
    if wide:
        raw_scale = wide.get("scale")
        if (
            not isinstance(raw_scale, list)
            or len(raw_scale) != 2
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in raw_scale)
            or not raw_scale[0] < raw_scale[1]
        ):
            bad("wide.scale", "must be [low, high] with low < high, e.g. [1, 5]")
        else:
            scale = (float(raw_scale[0]), float(raw_scale[1]))
        for column, spec in dict(wide.get("items", {})).items():
            if not isinstance(spec, dict) or not isinstance(spec.get("stage"), str):
                bad(f"wide.items.{column}", 'must be { stage = "...", touchpoint = "..." }')
            else:
                items[column] = WideItem(spec["stage"], spec.get("touchpoint"))
        if not items:
            bad("wide.items", "a [wide] mapping needs at least one item column")
        respondent = wide.get("respondent_id")
        if respondent is not None and respondent != "row":
            bad(
                "wide.respondent_id",
                'must be "row" (each row is one respondent); to name an id column use '
                '[columns] customer_id = "..."',
            )
        elif respondent == "row" and "customer_id" in columns:
            bad(
                "wide.respondent_id",
                '"row" numbers the respondents, but [columns] customer_id names an id '
                "column: keep one of the two",
            )
    outcomes = {}
    for outcome, spec in dict(data.get("outcomes", {})).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            bad(f"outcomes.{outcome}", 'must be { column = "...", positive = ["..."] }')
        else:
            positive = tuple(str(v) for v in spec.get("positive", []))
            outcomes[outcome] = Outcome(spec["column"], positive)
    attributes = {}
    for attribute, source in dict(data.get("attributes", {})).items():
        if not isinstance(source, str):
            bad(f"attributes.{attribute}", "must be the source header as a string")
        else:
            attributes[attribute] = source
    order = data.get("stages", {}).get("order", [])
    if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
        bad("stages.order", "must be a list of stage names")
        order = []
    if problems:
        raise IngestError(problems)
    return Mapping(
        columns=columns,
        wide_scale=scale,
        not_applicable=tuple(_na_text(v) for v in wide.get("not_applicable", [])),
        wide_items=items,
        outcomes=outcomes,
        attributes=attributes,
        stage_order=tuple(order),
        row_ids=wide.get("respondent_id") == "row",
    )


def _na_text(value: Any) -> str:
    """N/A codes compare as text; 0 and 0.0 both mean the number zero."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def detect_columns(headers: list[str], mapping: Mapping, file: str) -> dict[str, str]:
    """Canonical name -> source header. Mapping-file entries win; the rest is detected.

    Raises IngestError when a mapped header is missing or two headers claim one column.
    """
    problems: list[Problem] = []
    found: dict[str, str] = {}
    for canonical, source in mapping.columns.items():
        if source not in headers:
            problems.append(
                Problem(file, None, source, None, f"mapped as {canonical} but not in the file")
            )
        else:
            found[canonical] = source
    taken = set(found.values()) | set(mapping.wide_items)
    taken |= {o.column for o in mapping.outcomes.values()} | set(mapping.attributes.values())
    candidates: dict[str, list[str]] = {}
    for header in headers:
        guess = _LOOKUP.get(normalise(header))
        if header not in taken and guess and guess not in found:
            candidates.setdefault(guess, []).append(header)
    for canonical, sources in candidates.items():
        if len(sources) > 1:
            problems.append(
                Problem(
                    file,
                    None,
                    ", ".join(sources),
                    None,
                    f"several columns look like {canonical}; name one in the mapping file "
                    f'([columns] {canonical} = "...")',
                )
            )
        else:
            found[canonical] = sources[0]
    if problems:
        raise IngestError(problems)
    return found
