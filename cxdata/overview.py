"""What is in the store: counts by study, stage and channel (Ibis, computed in the engine)."""

from __future__ import annotations

import pandas as pd

from cxdata.charts import NO_CHANNEL
from cxdata.store import Store


def observation_counts(store: Store) -> pd.DataFrame:
    """Observations and customers per study, stage and channel; stages in journey order."""
    with store.ibis() as backend:
        obs = backend.table("observations")
        expr = obs.group_by(["study", "stage", "channel"]).aggregate(
            observations=obs.count(), customers=obs.customer_id.nunique()
        )
        df = expr.to_pandas()
    df["channel"] = df["channel"].fillna(NO_CHANNEL)
    order = {stage: i for i, stage in enumerate(store.stage_order())}
    df["stage_position"] = df["stage"].map(order)
    return df.sort_values(["study", "stage_position", "channel"]).reset_index(drop=True)
