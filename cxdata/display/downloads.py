"""Charts as files: SVG and PNG through the Vega project's own converter (no browser),
carrying their caption (filters and n) inside the picture, so a chart pasted into a slide
still says what it shows."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import altair as alt
import vl_convert as vlc

CAPTION_WIDTH = 110
"""Characters per caption line: Vega titles do not wrap by themselves."""


def n_range(values: Iterable[float], unit: str = "customers") -> str:
    """'n = 31–480 customers' (or one number when all are equal): the n behind a chart
    whose rows rest on different numbers of customers."""
    numbers = [int(v) for v in values]
    if not numbers:
        return f"n = 0 {unit}"
    lo, hi = min(numbers), max(numbers)
    return f"n = {lo:,} {unit}" if lo == hi else f"n = {lo:,}–{hi:,} {unit} per row"


def caption_text(filters: str, n: str) -> str:
    """The caption of a chart: its filters and its n, in one sentence."""
    return f"Filters: {filters} · {n}"


def captioned(chart: alt.TopLevelMixin, caption: str) -> alt.TopLevelMixin:
    """The chart with `caption` as the subtitle under its title (kept), wrapped to lines."""
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, alt.TitleParams):
        text = title.text
    elif isinstance(title, str | list):
        text = title
    else:
        text = ""
    lines = textwrap.wrap(caption, CAPTION_WIDTH) or [""]
    params = alt.TitleParams(
        text=text, subtitle=lines, anchor="start", subtitleColor="#444444", subtitleFontSize=11
    )
    return chart.properties(title=params)


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    return vlc.vegalite_to_svg(chart.to_json()).encode("utf-8")


def chart_png(chart: alt.TopLevelMixin) -> bytes:
    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))
