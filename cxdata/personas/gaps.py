"""What a missing stage means for personas, and how much the personas follow the gaps.

In a wide survey a blank or "not applicable" item says how the data was collected (the
reviewer skipped it), not who the customer is: such a gap must not become a feature. In an
observation log a stage never observed says which stages the customer went through: that
stays a behavioural feature. The store knows which is which from each batch's mapping.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from cxdata.errors import UsageError

GAP_RULES = {
    "auto": "from the data: wide surveys (and mappings with not-applicable values) → not "
    "rated; observation logs → not observed",
    "not_rated": "every gap means not rated: no feature, imputed at the customer's own level",
    "not_observed": "every gap means the stage was not gone through: a behavioural feature",
}
NOT_RATED, NOT_OBSERVED = "not_rated", "not_observed"
MAX_GAP_AMI = 0.05  # survey personas sharing more with the gap pattern than this are refused


class GapRuleError(UsageError, ValueError):
    """An unknown gap rule."""


def check_rule(rule: str) -> str:
    if rule not in GAP_RULES:
        raise GapRuleError(f"unknown gap rule {rule!r}; choose one of {', '.join(GAP_RULES)}")
    return rule


def says_not_rated(mapping_record: str | None) -> bool:
    """A batch whose gaps mean "not rated": its mapping is a wide survey or names
    not-applicable values."""
    try:
        record: dict[str, Any] = json.loads(mapping_record or "{}")
    except ValueError:
        return False
    mapping = record.get("mapping_file") or {}
    return bool(mapping.get("wide_items") or mapping.get("not_applicable"))


def stage_gaps(stage_batches: pd.DataFrame, batches: pd.DataFrame, rule: str) -> dict[str, str]:
    """Stage -> NOT_RATED or NOT_OBSERVED. `stage_batches` has one row per (stage, batch_id)
    with observations, `batches` the batch_id and mapping of every batch. Under "auto" a
    stage's gaps mean "not rated" only when every batch that observed it says so."""
    check_rule(rule)
    stages = sorted(set(stage_batches["stage"].astype(str)))
    if rule != "auto":
        return dict.fromkeys(stages, rule)
    rated = {int(b) for b, m in zip(batches["batch_id"], batches["mapping"], strict=True)
             if says_not_rated(m)}  # fmt: skip
    survey = stage_batches.assign(rated=stage_batches["batch_id"].astype(int).isin(rated))
    all_rated = survey.groupby(survey["stage"].astype(str))["rated"].all()
    return {s: NOT_RATED if bool(all_rated.get(s, False)) else NOT_OBSERVED for s in stages}


def gap_pattern(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each customer's pattern of present and missing values in `columns`, as one integer
    code per customer (bit i set when column i is present)."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64)
    present = frame[columns].notna().to_numpy().astype(np.int64)
    return present @ (np.int64(1) << np.arange(len(columns), dtype=np.int64))


def gap_ami(labels: np.ndarray, pattern: np.ndarray) -> float:
    """Adjusted mutual information between personas and the gap pattern: 0 when the
    personas tell nothing about which items were rated, 1 when they are the patterns."""
    from sklearn.metrics import adjusted_mutual_info_score  # loads scikit-learn: on use

    if len(set(pattern.tolist())) < 2:
        return 0.0
    return float(adjusted_mutual_info_score(pattern, labels))
