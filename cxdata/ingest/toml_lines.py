"""Where a key sits in a TOML file: tomllib reports line numbers only for syntax errors, so
a problem with a key's value is located by scanning the text for the key or its table."""

from __future__ import annotations

import re

_KEY_PART = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+))\s*')
_SYNTAX_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _key_parts(text: str) -> tuple[list[str], str] | None:
    """The dotted key at the start of `text` and the rest after it, or None."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if not match or match.end() == pos:
            return None
        parts.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
        if not text.startswith(".", pos):
            return parts, text[pos:]
        pos += 1


def key_line(text: str, dotted: str) -> int | None:
    """The 1-based line of `dotted` (e.g. "wide.items.Q1 Website"): the key itself when it
    is there, else the nearest enclosing key or table header; None when none is found."""
    wanted = _split(dotted)
    best: tuple[int, int] | None = None  # (matched parts, line)
    table: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            header = _key_parts(line.strip("[]").split("#")[0])
            if header is None:
                continue
            table = header[0]
            full = table
        else:
            parsed = _key_parts(line)
            if parsed is None or not parsed[1].lstrip().startswith("="):
                continue
            full = table + parsed[0]
        if full == wanted:
            return number
        if wanted[: len(full)] == full and (best is None or len(full) > best[0]):
            best = (len(full), number)
        elif full[: len(wanted)] == wanted and best is None:
            best = (0, number)  # a key below the wanted one: the table is written in parts
    return best[1] if best else None


def _split(dotted: str) -> list[str]:
    """`columns.kunde` -> ["columns", "kunde"]; the last parts may contain dots (item
    columns are headers), so only the known table names are split off."""
    head, _, rest = dotted.partition(".")
    if head == "wide" and rest.startswith("items."):
        return ["wide", "items", rest[len("items.") :]]
    return [head, rest] if rest else [head]


def syntax_error_line(message: str) -> int | None:
    """The line tomllib names in a syntax error's message."""
    match = _SYNTAX_LINE.search(message)
    return int(match.group(1)) if match else None
