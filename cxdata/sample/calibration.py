"""The sample's double-coded calibration subset, with one planted harsh observer.

Field teams have a share of sessions coded twice to check their observers. In the retail
store visits, CALIBRATION_SHARE of the customers get a second observer (another of the
study's observers, at random) who re-codes every one of that customer's observations: the
same interaction, the score the first observer gave plus noise (-1, 0 or +1 with
probabilities 0.15, 0.7, 0.15), clipped to -3..+3. HARSH_OBSERVER scores HARSH_BY points
lower than colleagues on the same units: as the second observer their scores are lower, and
where they were the first, the re-code is that much higher. The re-codes carry the method
CALIBRATION_METHOD and a note naming the observation they re-code.

Drawn from their own random stream (seed, CALIBRATION_STREAM), after everything else, so the
rest of the sample stays as it was. In the store each re-coded unit counts once (the mean of
its two observers), so the planted findings hold; `long_frame` leaves the re-codes out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CALIBRATION_SHARE = 0.08
CALIBRATION_METHOD = "Calibration re-code"
CALIBRATION_STREAM = 14
HARSH_OBSERVER = "D. Arslan"
HARSH_BY = 1
NOISE = ((-1, 0, 1), (0.15, 0.70, 0.15))


def with_recodes(df: pd.DataFrame, observers: tuple[str, ...], seed: int) -> pd.DataFrame:
    """The retail log (`df`, ids `R-` + 6 digits) followed by the calibration re-codes."""
    rng = np.random.default_rng([seed, CALIBRATION_STREAM])
    customers = df["customer_id"].drop_duplicates().to_numpy()
    chosen = rng.choice(customers, size=round(CALIBRATION_SHARE * len(customers)), replace=False)
    first = df.groupby("customer_id")["observer"].first()
    second = {}
    for cid in sorted(chosen):
        others = [o for o in observers if o != first[cid]]
        second[cid] = others[rng.integers(len(others))]
    recode = df[df["customer_id"].isin(second)].copy()
    recode["observer"] = recode["customer_id"].map(second)
    noise = rng.choice(NOISE[0], size=len(recode), p=NOISE[1])
    shift = np.where(recode["observer"] == HARSH_OBSERVER, -HARSH_BY, 0)
    shift += np.where(recode["customer_id"].map(first) == HARSH_OBSERVER, HARSH_BY, 0)
    recode["score"] = np.clip(recode["score"].to_numpy() + noise + shift, -3, 3)
    recode["score"] = recode["score"].astype(df["score"].dtype)
    recode["method"] = CALIBRATION_METHOD
    recode["note"] = "Calibration re-code of " + recode["observation_id"]
    start = len(df) + 1
    recode["observation_id"] = [f"R-{i:06d}" for i in range(start, start + len(recode))]
    return pd.concat([df, recode], ignore_index=True)


def without_recodes(df: pd.DataFrame) -> pd.DataFrame:
    """A log without the calibration re-codes (one observer per unit, as generated)."""
    method = "method" if "method" in df.columns else "Methode"
    return df[df[method] != CALIBRATION_METHOD]
