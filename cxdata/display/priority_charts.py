"""Altair charts of the Priorities page: the importance-performance matrix and the moments
of truth (DataFrame in, Chart out)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

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
    (`name`) with its interval as a whisker when the table has one, the four quadrants
    shaded and named, the split lines dashed."""
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
    high = data["importance_ci_high"] if "importance_ci_high" in data else data["importance"]
    y0, y1 = extent(pd.concat([data["importance"], high.fillna(data["importance"])]),
                    importance_threshold)  # fmt: skip
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
    y = alt.Y("importance:Q", title="Importance: relative weight (share of R², 95% CI)",
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
        alt.Tooltip("importance:Q", title="Importance (relative weight)", format=".3f"),
        *(
            [
                alt.Tooltip("importance_ci_low:Q", title="95% CI from", format=".3f"),
                alt.Tooltip("importance_ci_high:Q", title="95% CI to", format=".3f"),
                alt.Tooltip("correlation:Q", title="Spearman ρ", format="+.2f"),
            ]
            if "importance_ci_low" in df
            else []
        ),
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
    layers = [points]
    if "importance_ci_low" in data:  # whiskers: the bootstrap interval of each weight
        layers.insert(0, base.mark_rule(color="#555555", opacity=0.6).encode(
            y=alt.Y("importance_ci_low:Q", scale=yscale), y2="importance_ci_high:Q",
            tooltip=tooltip))  # fmt: skip
    placed = data.join(_label_positions(data, (x0, x1, y0, y1), (width, height)))
    text = (
        alt.Chart(placed.dropna(subset=["label_x"]))
        .mark_text(align="left", baseline="middle", fontSize=12, color="#222222")
        .encode(x=alt.X("label_x:Q", scale=xscale), y=alt.Y("label_y:Q", scale=yscale),
                text="label:N", tooltip=tooltip)
    )  # fmt: skip
    return alt.LayerChart(  # "pad": the plot is exactly width x height, as the labels assume
        layer=[shade, *names, vline, hline, *layers, text], title=title, width=width, height=height,
        autosize=alt.AutoSizeParams(type="pad"),
    )  # fmt: skip


SIGNED_LABEL = "datum.value > 0 ? '+' + datum.label : datum.label"
"""Axis labels of a difference: "+20", "0", "−10"."""


def points(share_difference: float) -> str:
    """A difference of two shares in percentage points, signed ("+27"): never "+27%", which
    reads as a relative change."""
    return f"{share_difference * 100:+.0f}"


def moments_chart(df: pd.DataFrame, name: str, title: str) -> alt.LayerChart:
    """Extra risk of the bad outcome when disappointed (percentage points) with 95% CI
    whiskers, largest first; moments of truth solid, the rest faded."""
    data = df.dropna(subset=["risk_difference"]).assign(
        label=lambda d: d[name].astype(str),
        kind=lambda d: np.where(d["moment_of_truth"], "moment of truth", "other"),
        points=lambda d: d["risk_difference"] * 100,
        points_low=lambda d: d["ci_low"] * 100,
        points_high=lambda d: d["ci_high"] * 100,
    )
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=220))
    tooltip = [
        alt.Tooltip("label:N", title=name.capitalize()),
        alt.Tooltip("risk_disappointed:Q", title="Risk when disappointed", format=".0%"),
        alt.Tooltip("risk_other:Q", title="Risk otherwise", format=".0%"),
        alt.Tooltip("points:Q", title="Difference (percentage points)", format="+.0f"),
        alt.Tooltip("points_low:Q", title="95% CI from", format="+.0f"),
        alt.Tooltip("points_high:Q", title="95% CI to", format="+.0f"),
        alt.Tooltip("n_disappointed:Q", title="Disappointed (n)", format=","),
        alt.Tooltip("n_other:Q", title="Others (n)", format=","),
    ]
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}).encode(
        x=alt.X("points:Q", axis=alt.Axis(format=".0f", labelExpr=SIGNED_LABEL),
                title="Extra risk of the bad outcome when disappointed there, percentage "
                      "points (95% CI)"),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["moment of truth", "other"],
                                        range=["#D55E00", "#BBBBBB"])),
        tooltip=tooltip,
    )  # fmt: skip
    whiskers = base.mark_rule(color="#222222", strokeWidth=1.5).encode(
        x="points_low:Q", x2="points_high:Q", tooltip=tooltip
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888888").encode(x="x:Q")
    return (zero + bars + whiskers).properties(
        title=title, width=640, height=alt.Step(26), autosize=alt.AutoSizeParams(type="pad")
    )
