"""Journey order for result tables, and the labels of missing values: the one place that
sorts rows by stage the way the journey runs."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

NONE = "(none)"
"""An optional observation value that was not recorded (touchpoint, channel, observer, time)."""
UNKNOWN = "(unknown)"
"""A customer without a value for the chosen attribute or persona."""


def in_journey_order(
    df: pd.DataFrame,
    stages: Sequence[str],
    then: Sequence[str] = (),
    first: Sequence[str] = (),
    stage: str = "stage",
) -> pd.DataFrame:
    """Rows sorted by `first`, then their stage's position in `stages` (unknown stages
    last), then by `then`; the index is reset."""
    position = {s: i for i, s in enumerate(stages)}
    pos = df[stage].map(position).fillna(len(position))
    return (
        df.assign(_journey=pos)
        .sort_values([*first, "_journey", *then], kind="stable")
        .drop(columns="_journey")
        .reset_index(drop=True)
    )


def levels_in_journey_order(df: pd.DataFrame, level: str, stages: Sequence[str]) -> list[str]:
    """The distinct values of `level` (e.g. touchpoint) in the order of their stage, then
    alphabetically: the row order of charts and tables."""
    ordered = in_journey_order(df.assign(_level=df[level].astype(str)), stages, ["_level"])
    return list(dict.fromkeys(ordered["_level"]))
