"""Downloads: CSV that spreadsheets cannot execute, and charts as SVG or PNG."""

from __future__ import annotations

import altair as alt
import pandas as pd
import vl_convert as vlc

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell starting like a formula gets a leading apostrophe (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes with every text cell (and header) neutralised; numbers stay numbers.

    Lines end in CRLF (RFC 4180), which also makes the writer quote a cell holding a bare
    carriage return; with "\n" endings such a cell was written raw and split the row."""
    out = df.copy()
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    return vlc.vegalite_to_svg(chart.to_json()).encode("utf-8")


def chart_png(chart: alt.TopLevelMixin) -> bytes:
    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))
