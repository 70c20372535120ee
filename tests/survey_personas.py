"""A generated wide survey with planted personas: each persona differs in the shape of its
ratings (where it is delighted or disappointed compared with its own average), every
respondent has an overall level drawn independently of persona, and items are left
unrated independently of persona (as "not applicable" or blank)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ITEMS = ("Booking", "Check-in", "Seat", "Staff", "Food", "Wi-Fi", "Value")
# Relative to the respondent's own level, in rating points (each row sums to 0).
SHAPES = {
    "Staff lovers": (0, 0, 0, 3, -2, 0, -1),
    "Foodies let down by value": (0, 0, 1, 0, 2, 0, -3),
    "Digital first": (3, 0, -1, -3, 0, 1, 0),
    "Seat-sensitive bargain hunters": (0, 1, -3, 0, 0, -1, 3),
}
SHARES = (0.35, 0.25, 0.22, 0.18)
# Chance that an item is not rated: independent of persona, as in a real review export.
NOT_RATED = (0.05, 0.1, 0.05, 0.05, 0.2, 0.5, 0.02)
LEVEL_SD = 1.5  # rating points: reviewers differ first in how generous they are
NOISE_SD = 0.6

MAPPING = """
[columns]
customer_id = "respondent"

[wide]
scale = [1, 10]
not_applicable = ["0", "N/A"]

[wide.items]
{items}

[attributes]
traveller = "traveller"
"""


@dataclass(frozen=True)
class Survey:
    ratings: pd.DataFrame  # one row per respondent (no gaps), index respondent
    persona: pd.Series  # planted persona per respondent
    level: pd.Series  # planted overall level per respondent


def survey(n: int = 2000, seed: int = 7) -> Survey:
    """Ratings 1..10 = 5.5 + level + persona shape + noise (rounded, clipped)."""
    rng = np.random.default_rng(seed)
    names = list(SHAPES)
    persona = rng.choice(len(names), size=n, p=SHARES)
    level = rng.normal(0.0, LEVEL_SD, size=n)
    shape = np.array([SHAPES[name] for name in names], dtype=float)[persona]
    raw = 5.5 + level[:, None] + shape + rng.normal(0.0, NOISE_SD, size=shape.shape)
    ratings = np.clip(np.round(raw), 1, 10).astype(int)
    index = pd.Index([f"R{i:05d}" for i in range(n)], name="respondent")
    return Survey(
        pd.DataFrame(ratings, columns=list(ITEMS), index=index),
        pd.Series([names[p] for p in persona], index=index, name="persona"),
        pd.Series(level, index=index, name="level"),
    )


def with_gaps(ratings: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    """The same ratings as text with items unrated independently of persona: "N/A", "0"
    or blank."""
    rng = np.random.default_rng(seed)
    out = ratings.astype(str)
    for item, p in zip(ITEMS, NOT_RATED, strict=True):
        gone = rng.random(len(out)) < p
        out.loc[gone, item] = rng.choice(["N/A", "0", ""], size=int(gone.sum()))
    return out


def write_survey(folder: Path, ratings: pd.DataFrame, seed: int = 3) -> tuple[Path, Path]:
    """CSV and mapping of a wide survey (with a traveller type known for some)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    frame = ratings.reset_index()
    traveller = rng.choice(["Business", "Leisure", ""], size=len(frame), p=[0.3, 0.4, 0.3])
    frame["traveller"] = traveller
    csv = folder / "survey.csv"
    frame.to_csv(csv, index=False)
    items = "\n".join(f'"{i}" = {{ stage = "{i}", touchpoint = "{i}" }}' for i in ITEMS)
    mapping = folder / "survey.toml"
    mapping.write_text(MAPPING.format(items=items), encoding="utf-8")
    return csv, mapping
