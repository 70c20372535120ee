"""Altair chart builders: DataFrame in, Chart out. Colour-blind safe palettes only."""

from __future__ import annotations

import altair as alt
import pandas as pd

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
"""Okabe & Ito's categorical palette, distinguishable with every common colour-vision deficiency."""
NO_CHANNEL = "(none)"


def observations_by_stage(counts: pd.DataFrame, stage_order: list[str]) -> alt.Chart:
    """Horizontal stacked bars: observations per journey stage and channel, one row per study."""
    channels = sorted(set(counts["channel"]) - {NO_CHANNEL})
    palette = dict(zip(channels, OKABE_ITO, strict=False)) | {NO_CHANNEL: "#9E9E9E"}
    base = alt.Chart(counts).encode(
        y=alt.Y("stage:N", sort=stage_order, title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("sum(observations):Q", title="Observations"),
        color=alt.Color(
            "channel:N",
            title="Channel",
            sort=[*channels, NO_CHANNEL],
            scale=alt.Scale(domain=list(palette), range=list(palette.values())),
        ),
        tooltip=[
            alt.Tooltip("study:N", title="Study"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("sum(observations):Q", title="Observations", format=","),
            alt.Tooltip("sum(customers):Q", title="Customers", format=","),
        ],
    )
    return (
        base.mark_bar()
        .properties(width=560, height=alt.Step(20))
        .facet(
            row=alt.Row(
                "study:N",
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"),
            )
        )
        .properties(
            title="Where were observations made? Observations per stage and channel, by study"
        )
    )
