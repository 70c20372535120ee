"""The heatmap headline as the reader sees it: a stage named most delighting or most
disappointing only when it reaches that threshold, else a plain "none reaches it"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HeadlineMetric:
    """One `st.metric`: label, value, delta text and delta colour ("normal" or "off")."""

    label: str
    value: str
    delta: str
    delta_color: str


def headline_metrics(
    head: dict[str, Any], delight_threshold: float, disappointment_threshold: float
) -> list[HeadlineMetric]:
    """The two stage metrics from `cxdata.analysis.scoring.headline`: the stage and its
    net, or "None" with the threshold no stage reaches (grey, never a green figure)."""
    out = []
    for key, label, threshold, op in (
        ("best", "Most delighting stage", delight_threshold, "≥"),
        ("worst", "Most disappointing stage", disappointment_threshold, "≤"),
    ):
        row = head.get(key)
        if row is None:
            out.append(HeadlineMetric(label, "None", f"no stage at net {op} {threshold:+.2f}",
                                      "off"))  # fmt: skip
        else:
            out.append(HeadlineMetric(label, str(row["stage"]),
                                      f"{row['net_experience']:+.2f} net", "normal"))  # fmt: skip
    return out
