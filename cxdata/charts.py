"""Altair chart builders: DataFrame in, Chart out. Colour-blind safe palettes only."""

from __future__ import annotations

import altair as alt
import numpy as np
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


def emotion_curve(
    scores: pd.DataFrame, segment: str, stage_order: list[str], title: str
) -> alt.Chart:
    """Mean customer stage score along the journey, one line per segment, zero marked."""
    df = heatmap_frame(scores, segment)
    line = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("stage:N", sort=stage_order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean_score:Q", title="Mean customer stage score"),
            color=alt.Color("row:N", title=segment, scale=alt.Scale(range=OKABE_ITO)),
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
    return (zero + line).properties(title=title, width=720, height=300)


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
    """Diverging bars of mean score differences (A − B) with 95% CI whiskers; significant
    rows solid and starred, the rest faded; untested rows left out."""
    data = df[df["tested"].astype(bool)].copy()
    data["mark"] = np.where(data["significant"].astype(bool), "★ significant", "not significant")
    data["direction"] = np.where(data["diff"] >= 0, "A higher", "A lower")
    y = alt.Y(f"{level}:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip(f"{level}:N"),
        alt.Tooltip("diff:Q", title="Difference A − B", format="+.2f"),
        alt.Tooltip("ci_low:Q", title="95% CI from", format="+.2f"),
        alt.Tooltip("ci_high:Q", title="95% CI to", format="+.2f"),
        alt.Tooltip("n_a:Q", title="n A", format=","),
        alt.Tooltip("n_b:Q", title="n B", format=","),
        alt.Tooltip("q_value:Q", title="q (BH)", format=".3g"),
    ]
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        x=alt.X("diff:Q", title="Difference in mean customer score (A − B)"),
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
    whiskers = base.mark_rule(color="#222222").encode(x="ci_low:Q", x2="ci_high:Q")
    stars = (
        base.transform_filter("datum.significant")
        .mark_text(text="★", dx=0, dy=-9, fontSize=12, color="#222222")
        .encode(x="diff:Q")
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888888").encode(x="x:Q")
    height = alt.Step(34)
    return (zero + bars + whiskers + stars).properties(title=title, width=640, height=height)


QUADRANT_STYLE = {
    "concentrate_here": ("Concentrate here", "#D55E00"),
    "keep_up": ("Keep up the good work", "#0072B2"),
    "low_priority": ("Low priority", "#888888"),
    "possible_overkill": ("Possible overkill", "#E69F00"),
    "not_enough_data": ("Not enough data", "#DDDDDD"),
}
"""Importance-performance quadrants: label and colour (Okabe & Ito, grey for the quiet ones)."""


def _label_positions(
    data: pd.DataFrame, domain: tuple[float, float, float, float], size: tuple[int, int]
) -> pd.DataFrame:
    """Where each point's name goes (in data units, left-aligned text): right of the point,
    else left, above or below, the first place that overlaps no point, no placed name and
    stays inside the plot; fix-first rank decides who chooses first. Names that find no room
    are left out (the tooltip and the table still have them)."""
    x0, x1, y0, y1 = domain
    width, height = size
    px = (data["performance"] - x0) / (x1 - x0) * width
    py = (y1 - data["importance"]) / (y1 - y0) * height
    boxes = [(x - 6, y - 6, x + 6, y + 6) for x, y in zip(px, py, strict=True)]
    boxes += [(0, 0, 190, 26), (width - 190, 0, width, 26), (0, height - 26, 190, height),
              (width - 190, height - 26, width, height)]  # the quadrant names  # fmt: skip
    out = pd.DataFrame({"label_x": np.nan, "label_y": np.nan}, index=data.index)
    for i in data.sort_values("rank").index:
        w, x, y = 6.6 * len(str(data.at[i, "label"])), px[i], py[i]
        for lx, ly in ((x + 8, y), (x - 8 - w, y), (x - w / 2, y - 13), (x - w / 2, y + 13)):
            box = (lx, ly - 7, lx + w, ly + 7)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            clear = all(
                box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in boxes
            )
            if inside and clear:
                boxes.append(box)
                out.loc[i] = (x0 + lx / width * (x1 - x0), y1 - ly / height * (y1 - y0))
                break
    return out


def priority_matrix(
    df: pd.DataFrame,
    name: str,
    importance_threshold: float,
    performance_threshold: float,
    title: str,
) -> alt.LayerChart:
    """Importance (y) against performance (x), one labelled point per stage or touchpoint
    (`name`), the four quadrants shaded and named, the split lines dashed."""
    labels = {k: v[0] for k, v in QUADRANT_STYLE.items()}
    colour = alt.Scale(
        domain=[labels[k] for k in QUADRANT_STYLE], range=[v[1] for v in QUADRANT_STYLE.values()]
    )
    data = df.assign(label=df[name].astype(str), quadrant_label=df["quadrant"].map(labels))
    data = data.dropna(subset=["importance"]).reset_index(drop=True)
    width, height = 860, 520

    def extent(values: pd.Series, split: float) -> tuple[float, float]:
        lo, hi = min(values.min(), split), max(values.max(), split)
        pad = 0.12 * (hi - lo) if hi > lo else 0.5
        return float(lo - pad), float(hi + pad)

    x0, x1 = extent(data["performance"], performance_threshold)
    y0, y1 = extent(data["importance"], importance_threshold)
    xs, ys = performance_threshold, importance_threshold
    quads = pd.DataFrame(
        [("concentrate_here", x0, xs, ys, y1, "left", "top"),
         ("keep_up", xs, x1, ys, y1, "right", "top"),
         ("low_priority", x0, xs, y0, ys, "left", "bottom"),
         ("possible_overkill", xs, x1, y0, ys, "right", "bottom")],
        columns=["quadrant", "x", "x2", "y", "y2", "align", "baseline"],
    )  # fmt: skip
    quads["quadrant_label"] = quads["quadrant"].map(labels)
    quads["text_x"] = np.where(quads["align"] == "left", x0, x1)
    quads["text_y"] = np.where(quads["baseline"] == "top", y1, y0)
    xscale = alt.Scale(domain=[x0, x1], nice=False, zero=False)
    yscale = alt.Scale(domain=[y0, y1], nice=False, zero=False)
    x = alt.X("performance:Q", title="Performance: mean customer score (worse ← → better)",
              scale=xscale)  # fmt: skip
    y = alt.Y("importance:Q", title="Importance: link with the outcome (Spearman ρ)",
              scale=yscale)  # fmt: skip
    shade = (
        alt.Chart(quads)
        .mark_rect(opacity=0.13)
        .encode(x=alt.X("x:Q", scale=xscale), x2="x2:Q", y=alt.Y("y:Q", scale=yscale), y2="y2:Q",
                color=alt.Color("quadrant_label:N", scale=colour, legend=None))
    )  # fmt: skip
    names = [  # each quadrant's name in its outer corner
        alt.Chart(quads.iloc[[i]])
        .mark_text(align=a, baseline=b, dx=6 if a == "left" else -6, dy=6 if b == "top" else -6,
                   fontSize=13, fontWeight="bold")
        .encode(x=alt.X("text_x:Q", scale=xscale), y=alt.Y("text_y:Q", scale=yscale),
                text="quadrant_label:N",
                color=alt.Color("quadrant_label:N", scale=colour, legend=None))
        for i, (a, b) in enumerate(zip(quads["align"], quads["baseline"], strict=True))
    ]  # fmt: skip
    split = pd.DataFrame({"x": [xs], "y": [ys]})
    rules = alt.Chart(split).mark_rule(color="#555555", strokeDash=[5, 4])
    vline = rules.encode(x=alt.X("x:Q", scale=xscale))
    hline = rules.encode(y=alt.Y("y:Q", scale=yscale))
    tooltip = [
        alt.Tooltip("label:N", title=name.capitalize()),
        *([alt.Tooltip("stage:N", title="Stage")] if name != "stage" else []),
        alt.Tooltip("importance:Q", title="Importance (ρ)", format="+.2f"),
        alt.Tooltip("performance:Q", title="Performance", format="+.2f"),
        alt.Tooltip("n:Q", title="Customers (n)", format=","),
        alt.Tooltip("quadrant_label:N", title="Quadrant"),
        alt.Tooltip("rank:Q", title="Fix-first rank"),
    ]
    base = alt.Chart(data).encode(x=x, y=y)
    points = base.mark_circle(size=110, opacity=1, stroke="white", strokeWidth=1).encode(
        color=alt.Color("quadrant_label:N", scale=colour, legend=None),
        tooltip=tooltip,
    )  # fmt: skip
    placed = data.join(_label_positions(data, (x0, x1, y0, y1), (width, height)))
    text = (
        alt.Chart(placed.dropna(subset=["label_x"]))
        .mark_text(align="left", baseline="middle", fontSize=12, color="#222222")
        .encode(x=alt.X("label_x:Q", scale=xscale), y=alt.Y("label_y:Q", scale=yscale),
                text="label:N", tooltip=tooltip)
    )  # fmt: skip
    return alt.LayerChart(  # "pad": the plot is exactly width x height, as the labels assume
        layer=[shade, *names, vline, hline, points, text], title=title, width=width, height=height,
        autosize=alt.AutoSizeParams(type="pad"),
    )  # fmt: skip


def moments_chart(df: pd.DataFrame, name: str, title: str) -> alt.LayerChart:
    """Extra risk of the bad outcome when disappointed (percentage points) with 95% CI
    whiskers, largest first; moments of truth solid, the rest faded."""
    data = df.dropna(subset=["risk_difference"]).assign(
        label=lambda d: d[name].astype(str),
        kind=lambda d: np.where(d["moment_of_truth"], "moment of truth", "other"),
    )
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("label:N", title=name.capitalize()),
        alt.Tooltip("risk_disappointed:Q", title="Risk when disappointed", format=".0%"),
        alt.Tooltip("risk_other:Q", title="Risk otherwise", format=".0%"),
        alt.Tooltip("risk_difference:Q", title="Difference", format="+.0%"),
        alt.Tooltip("ci_low:Q", title="95% CI from", format="+.0%"),
        alt.Tooltip("ci_high:Q", title="95% CI to", format="+.0%"),
        alt.Tooltip("n_disappointed:Q", title="Disappointed (n)", format=","),
        alt.Tooltip("n_other:Q", title="Others (n)", format=","),
    ]
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        x=alt.X("risk_difference:Q", axis=alt.Axis(format="+.0%"),
                title="Extra risk of the bad outcome when disappointed there (95% CI)"),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["moment of truth", "other"],
                                        range=["#D55E00", "#BBBBBB"])),
        tooltip=tooltip,
    )  # fmt: skip
    whiskers = base.mark_rule(color="#222222", strokeWidth=1.5).encode(
        x="ci_low:Q", x2="ci_high:Q", tooltip=tooltip
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888888").encode(x="x:Q")
    return (zero + bars + whiskers).properties(
        title=title, width=640, height=alt.Step(26), autosize=alt.AutoSizeParams(type="pad")
    )
