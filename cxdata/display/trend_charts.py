"""The trend chart: one small panel per stage (no tangle of lines, no colour to decode),
net experience per period with its 95% interval, low-n periods hollow."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxdata.analysis.order import NONE


def net_trend_chart(
    trend: pd.DataFrame, period: str, stages: list[str], periods: list[str], title: str
) -> alt.FacetChart:
    """Rows of `cxdata.analysis.trends.net_trend` (stage level); periods without a time
    ("(none)") are left out of the lines (the table lists them)."""
    data = trend[trend[period] != NONE].assign(
        n=lambda d: d["n_customers"], low_n=lambda d: d["low_n"].map({True: "yes", False: "no"})
    )
    x = alt.X(f"{period}:O", sort=[p for p in periods if p != NONE], title=None)
    y = alt.Y("net_experience:Q", title="Net experience", scale=alt.Scale(domain=[-1, 1]))
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"),
        alt.Tooltip(f"{period}:O", title="Period"),
        alt.Tooltip("net_experience:Q", title="Net experience", format="+.2f"),
        alt.Tooltip("net_low:Q", title="95% CI from", format="+.2f"),
        alt.Tooltip("net_high:Q", title="95% CI to", format="+.2f"),
        alt.Tooltip("n:Q", title="Customers", format=","),
        alt.Tooltip("low_n:N", title="Low n"),
    ]
    base = alt.Chart().encode(x=x)
    zero = base.mark_rule(color="#9E9E9E").encode(y=alt.datum(0), x=alt.value(0), x2=alt.value(200))
    line = base.mark_line(color="#0072B2").encode(y=y)
    whiskers = base.mark_rule(color="#0072B2").encode(y="net_low:Q", y2="net_high:Q")
    points = base.mark_point(size=50, color="#0072B2", strokeWidth=2, fillOpacity=1).encode(
        y=y,
        tooltip=tooltip,
        fill=alt.condition("datum.low_n == 'yes'", alt.value("white"), alt.value("#0072B2")),
    )
    layered = alt.layer(zero, whiskers, line, points, data=data).properties(width=200, height=140)
    return layered.facet(facet=alt.Facet("stage:N", sort=stages, title=None), columns=3).properties(
        title=title
    )


def change_table(change: pd.DataFrame) -> pd.DataFrame:
    """The change test as a reader scans it: net before and after, the change with its
    adjusted interval, the n on each side, and the verdict."""
    out = pd.DataFrame(
        {
            "Stage": change["stage"],
            "Net before": change["net_from"].round(2),
            "Net after": change["net_to"].round(2),
            "Change": change["change"].round(2),
            "Adjusted CI from": change["ci_low"].round(2),
            "Adjusted CI to": change["ci_high"].round(2),
            "n before": change["n_from"],
            "n after": change["n_to"],
            "Significant": change["significant"].astype(bool),
            "Tested": change["tested"].astype(bool),
        }
    )
    return out.reset_index(drop=True)
