"""Altair chart builders: DataFrame in, Chart out. Colour-blind safe palettes only."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from cxdata.analysis.order import NONE

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
"""Okabe & Ito's categorical palette, distinguishable with every common colour-vision deficiency."""


def observations_by_stage(counts: pd.DataFrame, stage_order: list[str]) -> alt.Chart:
    """Horizontal stacked bars: observations per journey stage and channel, one row per study."""
    channels = sorted(set(counts["channel"]) - {NONE})
    palette = dict(zip(channels, OKABE_ITO, strict=False)) | {NONE: "#9E9E9E"}
    base = alt.Chart(counts).encode(
        y=alt.Y("stage:N", sort=stage_order, title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("sum(observations):Q", title="Observations"),
        color=alt.Color(
            "channel:N",
            title="Channel",
            sort=[*channels, NONE],
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


NET_SCALE = alt.Scale(domain=[-1, 1], domainMid=0, scheme="redblue")
"""Fixed diverging scale for net experience: red = disappointment, blue = delight, white =
neutral. ColorBrewer's RdBu is safe for the common colour-vision deficiencies. The domain
never follows the data, so colours mean the same under every filter."""


def net_legend(delight: float, disappointment: float) -> alt.Legend:
    """Legend whose ticks are the scale ends and the verdict thresholds."""
    return alt.Legend(
        title=(
            f"Net experience = delighted share − disappointed share "
            f"(delight ≥ {delight:+g}, disappointment ≤ {disappointment:+g})"
        ),
        values=[-1, disappointment, delight, 1],
        format="+.1f",
        labelOverlap=False,
        gradientLength=420,
        orient="bottom",
        direction="horizontal",
        titleLimit=800,
    )


def heatmap_frame(scores: pd.DataFrame, row: str) -> pd.DataFrame:
    """Scores with the text a person reads in a cell and in its tooltip."""
    df = scores.copy()
    df["row"] = df[row].astype(str)
    df["label"] = df["net_experience"].map("{:+.2f}".format) + df["low_n"].map(
        {True: " (low n)", False: ""}
    )
    df["mean_ci"] = [
        f"{m:+.2f} ({lo:+.2f} to {hi:+.2f})" if pd.notna(lo) else f"{m:+.2f} (n too small)"
        for m, lo, hi in zip(df["mean_score"], df["ci_low"], df["ci_high"], strict=True)
    ]
    return df


def heatmap(
    scores: pd.DataFrame,
    row: str,
    row_title: str,
    stage_order: list[str],
    title: str,
    delight: float,
    disappointment: float,
    row_order: list[str] | None = None,
) -> alt.Chart:
    """Stage (columns, journey order) x `row` heatmap of net experience; low-n cells faded
    and labelled; a click selects a cell (selection name `cell`)."""
    df = heatmap_frame(scores, row)
    select = alt.selection_point(name="cell", fields=["stage", "row"], on="click", empty=False)
    base = alt.Chart(df).encode(
        x=alt.X("stage:N", sort=stage_order, title=None, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y(
            "row:N", sort=row_order or "ascending", title=row_title, axis=alt.Axis(labelLimit=220)
        ),
    )
    cells = (
        base.mark_rect(stroke="white", strokeWidth=2)
        .encode(
            color=alt.Color(
                "net_experience:Q", scale=NET_SCALE, legend=net_legend(delight, disappointment)
            ),
            opacity=alt.condition("datum.low_n", alt.value(0.35), alt.value(1.0)),
            strokeDash=alt.condition("datum.low_n", alt.value([3, 2]), alt.value([1, 0])),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("row:N", title=row_title),
                alt.Tooltip("n_customers:Q", title="Customers (n)", format=","),
                alt.Tooltip("n_observations:Q", title="Observations", format=","),
                alt.Tooltip("mean_ci:N", title="Mean score (95% CI)"),
                alt.Tooltip("delight_share:Q", title="Delighted", format=".0%"),
                alt.Tooltip("disappointment_share:Q", title="Disappointed", format=".0%"),
                alt.Tooltip("net_experience:Q", title="Net experience", format="+.2f"),
                alt.Tooltip("verdict:N", title="Verdict"),
            ],
        )
        .add_params(select)
    )
    text = base.mark_text(fontSize=12).encode(
        text="label:N",
        color=alt.condition(
            "abs(datum.net_experience) > 0.55", alt.value("white"), alt.value("#222222")
        ),
    )
    return (cells + text).properties(title=title, width=alt.Step(118), height=alt.Step(30))


GREY = "#B0B0B0"
"""Lines beyond the highlighted ones: present (legend, tooltip) but quiet."""


def curve_colours(df: pd.DataFrame, highlight: int = len(OKABE_ITO) - 1) -> tuple[list, list]:
    """Legend order and colours of the emotion curve: up to eight segments each get an
    Okabe-Ito colour; beyond that the `highlight` largest (by customers) keep theirs and
    the rest are grey, so no colour is used twice and every line stays in the legend."""
    sizes = df.groupby("row")["n_customers"].sum().sort_values(ascending=False, kind="stable")
    if len(sizes) <= len(OKABE_ITO):
        domain = sorted(sizes.index)
        return domain, OKABE_ITO[: len(domain)]
    top = list(sizes.index[:highlight])
    rest = sorted(sizes.index[highlight:])
    return top + rest, OKABE_ITO[:highlight] + [GREY] * len(rest)


def emotion_curve(
    scores: pd.DataFrame, segment: str, stage_order: list[str], title: str
) -> alt.LayerChart:
    """Mean customer stage score along the journey, one line per segment, zero marked.
    Beyond eight segments the largest seven are coloured and drawn on top, the rest grey
    and thin (named in the legend and the tooltip)."""
    df = heatmap_frame(scores, segment)
    domain, colours = curve_colours(df)
    grey = [row for row, colour in zip(domain, colours, strict=True) if colour == GREY]
    df["highlighted"] = ~df["row"].isin(grey)
    line = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("stage:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean_score:Q", title="Mean customer stage score"),
            color=alt.Color(
                "row:N",
                title=segment,
                sort=domain,
                scale=alt.Scale(domain=domain, range=colours),
                legend=alt.Legend(symbolLimit=0, labelLimit=220),
            ),
            strokeWidth=alt.condition("datum.highlighted", alt.value(2.5), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("row:N", title=segment),
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("mean_ci:N", title="Mean score (95% CI)"),
                alt.Tooltip("n_customers:Q", title="Customers (n)", format=","),
            ],
        )
    )
    zero = (
        alt.Chart(pd.DataFrame({"y": [0]}))
        .mark_rule(color="#888", strokeDash=[4, 3])
        .encode(y="y:Q")
    )
    quiet, loud = (
        line.transform_filter("!datum.highlighted"),
        line.transform_filter("datum.highlighted"),
    )
    return alt.LayerChart(layer=[zero, quiet, loud], title=title, width=720, height=300)


def persona_diagnostics(
    diagnostics: pd.DataFrame, chosen_k: int, stable: float = 0.8
) -> alt.HConcatChart:
    """How many personas? Two small panels over k: stability (mean adjusted Rand index on
    bootstrap refits, 0 to 1, the reproducible level dashed) and silhouette (separation);
    the chosen k marked in both."""
    df = diagnostics.assign(chosen=diagnostics["k"] == chosen_k)
    x = alt.X("k:O", title="Number of personas (k)", axis=alt.Axis(labelAngle=0))
    mark = alt.Chart(pd.DataFrame({"k": [chosen_k], "text": [f"chosen: {chosen_k}"]}))
    rule = mark.mark_rule(color="#555", strokeDash=[2, 2]).encode(x=x)
    height = 200

    def panel(column: str, title: str, scale: alt.Scale, colour: str) -> alt.LayerChart:
        line = (
            alt.Chart(df)
            .mark_line(color=colour, point=alt.OverlayMarkDef(color=colour, size=50))
            .encode(
                x=x,
                y=alt.Y(f"{column}:Q", title=title, scale=scale),
                tooltip=[
                    alt.Tooltip("k:O", title="Personas (k)"),
                    alt.Tooltip("stability:Q", title="Stability", format=".2f"),
                    alt.Tooltip("silhouette:Q", title="Silhouette", format=".2f"),
                ],
            )
        )
        ring = (
            alt.Chart(df[df["chosen"]])
            .mark_point(size=180, color="#333", strokeWidth=1.5)
            .encode(x=x, y=alt.Y(f"{column}:Q", scale=scale))
        )
        label = mark.mark_text(align="left", dx=4, dy=-4, baseline="bottom", color="#333").encode(
            x=x, y=alt.value(height), text="text:N"
        )
        return alt.LayerChart(layer=[rule, line, ring, label], width=300, height=height)

    top = float(df["silhouette"].max()) if len(df) else 0.0
    bottom = min(0.0, float(df["silhouette"].min()) if len(df) else 0.0)
    stability = panel(
        "stability",
        "Stability (agreement of refits, 0–1)",
        alt.Scale(domain=[0, 1]),
        OKABE_ITO[0],
    )
    reproducible = (
        alt.Chart(pd.DataFrame({"y": [stable], "text": [f"reproducible ≥ {stable:g}"]}))
        .mark_rule(color="#009E73", strokeDash=[5, 3])
        .encode(y="y:Q")
    )
    reproducible_label = reproducible.mark_text(
        align="right", baseline="top", dy=3, x="width", dx=-2, color="#00704f"
    ).encode(text="text:N")
    silhouette = panel(
        "silhouette",
        "Silhouette (separation)",
        alt.Scale(domain=[bottom, max(0.5, round(top + 0.05, 1))]),
        OKABE_ITO[5],
    )
    return alt.hconcat(
        alt.layer(stability, reproducible, reproducible_label), silhouette, spacing=40
    ).properties(title="How many personas? Stability and separation by number of personas")


def persona_stage_row(scores: pd.DataFrame, stage_order: list[str]) -> alt.LayerChart:
    """One row of cells: a persona's net experience per stage, on the heatmaps' fixed scale
    (no legend: the page explains the colours once); low-n cells faded and starred."""
    df = heatmap_frame(scores, "stage")
    df["label"] = df["net_experience"].map("{:+.2f}".format) + df["low_n"].map(
        {True: "*", False: ""}
    )
    df["one_row"] = ""
    base = alt.Chart(df).encode(
        x=alt.X(
            "stage:N",
            sort=stage_order,
            title=None,
            axis=alt.Axis(  # every stage named; long names cut (…) to their cell
                orient="top",
                labelAngle=0,
                labelOverlap=False,
                labelFlush=False,  # the first stage centred over its cell too
                labelFontSize=10,
                labelLimit=alt.ExprRef(f"width / {max(df['stage'].nunique(), 1)} - 10"),
                ticks=False,
            ),
        ),
        y=alt.Y("one_row:N", title=None, axis=None),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("net_experience:Q", scale=NET_SCALE, legend=None),
        opacity=alt.condition("datum.low_n", alt.value(0.35), alt.value(1.0)),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("n_customers:Q", title="Customers (n)", format=","),
            alt.Tooltip("mean_ci:N", title="Mean score (95% CI)"),
            alt.Tooltip("net_experience:Q", title="Net experience", format="+.2f"),
            alt.Tooltip("verdict:N", title="Verdict"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text="label:N",
        color=alt.condition(
            "abs(datum.net_experience) > 0.55", alt.value("white"), alt.value("#222222")
        ),
    )
    return (cells + text).properties(width="container", height=alt.Step(34))


def difference_chart(df: pd.DataFrame, level: str, order: list[str], title: str) -> alt.Chart:
    """Diverging bars of mean score differences (A − B) with whiskers at the adjusted
    intervals (Benjamini-Yekutieli, `ci_low`/`ci_high` at `ci_level`), so a whisker clears
    zero exactly when the row is significant; significant rows solid and starred, the rest
    faded; untested rows left out. The tooltip also gives the unadjusted 95% interval."""
    data = df[df["tested"].astype(bool)].copy()
    data["mark"] = np.where(data["significant"].astype(bool), "★ significant", "not significant")
    data["direction"] = np.where(data["diff"] >= 0, "A higher", "A lower")
    levels = data["ci_level"].dropna().unique()
    adjusted = f"{100 * levels[0]:.4g}% CI, adjusted" if len(levels) == 1 else "adjusted CI"
    y = alt.Y(f"{level}:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip(f"{level}:N"),
        alt.Tooltip("diff:Q", title="Difference A − B", format="+.2f"),
        alt.Tooltip("ci_low:Q", title=f"{adjusted} for selection: from", format="+.2f"),
        alt.Tooltip("ci_high:Q", title=f"{adjusted} for selection: to", format="+.2f"),
        alt.Tooltip("ci95_low:Q", title="Unadjusted 95% CI from", format="+.2f"),
        alt.Tooltip("ci95_high:Q", title="Unadjusted 95% CI to", format="+.2f"),
        alt.Tooltip("n_a:Q", title="n A", format=","),
        alt.Tooltip("n_b:Q", title="n B", format=","),
        alt.Tooltip("p_value:Q", title="p (Welch t-test)", format=".3g"),
        alt.Tooltip("q_value:Q", title="q (Benjamini-Hochberg)", format=".3g"),
    ]
    x_title = [
        "Difference in mean customer score (A − B)",
        f"whiskers: {adjusted} for selection (Benjamini-Yekutieli)",
    ]
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        x=alt.X("diff:Q", title=x_title),
        color=alt.Color(
            "direction:N",
            title=None,
            scale=alt.Scale(domain=["A higher", "A lower"], range=["#2166AC", "#B2182B"]),
        ),  # fmt: skip
        opacity=alt.Opacity(
            "mark:N",
            title=None,
            scale=alt.Scale(domain=["★ significant", "not significant"], range=[1.0, 0.35]),
        ),  # fmt: skip
        tooltip=tooltip,
    )
    whiskers = base.mark_rule(color="#222222").encode(x="ci_low:Q", x2="ci_high:Q", tooltip=tooltip)
    stars = (
        base.transform_filter("datum.significant")
        .mark_text(text="★", dx=0, dy=-9, fontSize=12, color="#222222")
        .encode(x="diff:Q")
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888888").encode(x="x:Q")
    height = alt.Step(34)
    return (zero + bars + whiskers + stars).properties(title=title, width=640, height=height)
