"""Charts as files: SVG and PNG through the Vega project's own converter (no browser)."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    return vlc.vegalite_to_svg(chart.to_json()).encode("utf-8")


def chart_png(chart: alt.TopLevelMixin) -> bytes:
    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))
