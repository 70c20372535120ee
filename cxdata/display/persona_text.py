"""A persona profile's lines in words, the same in the CLI, on the page and in the CSV:
typical values with their base, values known for too few, the relatively best and worst
stage. Plain text: the page passes it through `cxdata.app.text.md()`."""

from __future__ import annotations

from typing import Any


def attribute_label(name: str) -> str:
    return name.replace("_", " ")


def typical_line(name: str, t: dict[str, Any]) -> str:
    """`Solo Leisure 57% of the 7 with a known traveller type (1% of the persona)`; a model
    fitted before shares stated their base gives `traveller type Solo Leisure (57%)`."""
    if "known" not in t:
        return f"{attribute_label(name)} {t['value']} ({t['share']:.0%})"
    return (
        f"{t['value']} {t['share']:.0%} of the {t['known']:,} with a known "
        f"{attribute_label(name)} ({t['of_persona']:.0%} of the persona)"
    )


def typical_lines(attributes: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(typical values, values known for under 30% of the persona: `cabin (7 of 1,004)`)."""
    typical = [typical_line(n, t) for n, t in attributes.items() if t.get("typical", True)]
    sparse = [
        f"{attribute_label(n)} ({t['known']:,} of {t['size']:,})"
        for n, t in attributes.items()
        if not t.get("typical", True)
    ]
    return typical, sparse


def relative_line(relative: dict[str, Any]) -> str:
    """`best at Cabin staff (+0.6 sd, n = 880), worst at Wi-Fi (−0.4 sd, n = 150)`, against
    the persona's own average over the stages, with how many of the persona have a score
    there; empty without one."""
    if not relative:
        return ""

    def part(which: str) -> str:
        sd = f"{relative[which + '_sd']:+.1f}".replace("-", "−")
        n = relative.get(which + "_n")
        return f"{relative[which]} ({sd} sd" + (f", n = {n:,})" if n is not None else ")")

    return f"best at {part('best')}, worst at {part('worst')}"
