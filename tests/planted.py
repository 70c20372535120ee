"""Generated wide surveys with planted structure, for the drivers and segments tests.

Each generator returns the survey as CSV text, its mapping (TOML) and the generating frame,
so a test can import the file the way a user would and check the numbers by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

SCALE = (1, 5)  # rated 1-5, 0 = not rated: score = (rating - 3) * 1.5


def to_rating(latent: np.ndarray) -> np.ndarray:
    """A latent standard-normal answer as a 1-5 rating (quintiles of the normal)."""
    return np.digitize(latent, [-0.84, -0.25, 0.25, 0.84]) + 1


def to_score(rating: pd.Series) -> pd.Series:
    """What the store keeps for a rating (the mapping's linear scale)."""
    return (rating - 3) * 1.5


def mapping(items: list[str], outcome: str, attributes: list[str] = ()) -> str:  # type: ignore[assignment]
    """The wide mapping: one stage and touchpoint per item, 0 = not rated."""
    lines = ['[columns]\ncustomer_id = "id"\n', "[wide]", f"scale = [{SCALE[0]}, {SCALE[1]}]",
             "not_applicable = [0]\n", "[wide.items]"]  # fmt: skip
    lines += [f'"{i}" = {{ stage = "{i}", touchpoint = "{i}" }}' for i in items]
    lines += ["", "[outcomes]", f'{outcome} = {{ column = "{outcome}" }}']
    if attributes:
        lines += ["", "[attributes]", *[f'{a} = "{a}"' for a in attributes]]
    return "\n".join(lines) + "\n"


def collinear_drivers(n: int = 1500, seed: int = 7, binary: bool = False) -> pd.DataFrame:
    """Four halo items that share one general factor, one unique driver and one irrelevant
    item, with gaps.

    The outcome depends on the general factor and, a little less, on the unique item, which
    shares nothing with the halo. Each halo item correlates with the outcome more than the
    unique item does, but the four only repeat one another: the unique item matters most.
    The irrelevant item has nothing to do with the outcome and is rated poorly. A fifth of
    the Halo4 ratings and a third of the Irrelevant ones are missing (0 = not rated), at
    random. Columns: id, Halo1..Halo4, Unique, Irrelevant (ratings 0-5) and `outcome` (0-10,
    or 1/0 when `binary`)."""
    rng = np.random.default_rng(seed)
    general = rng.standard_normal(n)
    own = rng.standard_normal(n)
    frame: dict[str, object] = {"id": [f"R{i:05d}" for i in range(n)]}
    for j in range(1, 5):
        frame[f"Halo{j}"] = to_rating(0.9 * general + np.sqrt(1 - 0.81) * rng.standard_normal(n))
    frame["Unique"] = to_rating(own)
    frame["Irrelevant"] = to_rating(rng.standard_normal(n) - 0.8)
    frame["Halo4"] = np.where(rng.random(n) < 0.2, 0, frame["Halo4"])
    frame["Irrelevant"] = np.where(rng.random(n) < 0.33, 0, frame["Irrelevant"])
    drive = 0.6 * general + 0.45 * own + 0.6 * rng.standard_normal(n)
    if binary:
        frame["outcome"] = (drive > 0).astype(int)
    else:
        frame["outcome"] = np.clip(np.round(5 + 2.2 * drive), 0, 10).astype(int)
    return pd.DataFrame(frame)


DRIVER_ITEMS = ["Halo1", "Halo2", "Halo3", "Halo4", "Unique", "Irrelevant"]


def travellers(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Travellers with a cabin and a traveller type, each unknown for some (empty cell), and
    one rated item whose level depends on both: id, cabin, traveller, Seat, nps."""
    rng = np.random.default_rng(seed)
    cabin = rng.choice(["Economy", "Premium", "Business", "First", ""], n,
                       p=[0.45, 0.15, 0.15, 0.1, 0.15])  # fmt: skip
    kind = rng.choice(["Business", "Leisure", ""], n, p=[0.35, 0.4, 0.25])
    level = (np.isin(cabin, ["Business", "First"]) * 1.0 - (kind == "Business") * 0.8
             + (kind == "") * 1.5)  # fmt: skip
    seat = to_rating(level * 0.8 + rng.standard_normal(n) * 0.7)
    nps = rng.integers(0, 11, n)
    return pd.DataFrame({"id": [f"T{i:04d}" for i in range(n)], "cabin": cabin,
                         "traveller": kind, "Seat": seat, "nps": nps})  # fmt: skip
