"""Persona profiles a person recognises: size, what sets the persona apart (standardised
difference to all customers), typical attributes and channels, outcomes, and a name
built from the distinguishing features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxdata.analysis.outcomes import kind_of_numbers, kpi_of
from cxdata.personas.features import Features

MIN_DIFFERENCE = 0.5  # standardised difference from which a feature "distinguishes"
TOP = 6


def describe(kind: str, value: str, category: str | None = None) -> str:
    """Human words for a feature: `score at Delivery`, `app channel share`."""
    return {
        "score": f"score at {value}",
        "n": f"observations at {value}",
        "channel": f"{value} channel share",
        "attr": f"{value} = {category}" if category is not None else value,
    }[kind]


def distinguishing(features: Features, labels: np.ndarray, persona: int) -> list[dict[str, Any]]:
    """Features whose persona mean differs most from all customers, in standard deviations
    of all customers (categories: the share with that value)."""
    frame, mine = features.frame, labels == persona
    rows = []
    for column in features.groups["numeric"]:
        values = frame[column].astype(float)
        sd = values.std()
        if not sd or np.isnan(sd):
            continue
        own, overall = values[mine].mean(), values.mean()
        kind, value = features.source[column]
        rows.append((column, describe(kind, value), own, overall, (own - overall) / sd))
    for column in features.groups["categorical"]:
        kind, name = features.source[column]
        for category, hits in pd.get_dummies(frame[column].astype("string")).items():
            share = hits.astype(float)
            p = share.mean()
            if 0 < p < 1:
                own = share[mine].mean()
                label = describe(kind, name, str(category))
                rows.append(
                    (f"{column}={category}", label, own, p, (own - p) / np.sqrt(p * (1 - p)))
                )
    table = pd.DataFrame(rows, columns=["feature", "label", "persona", "overall", "std_diff"])
    table = table[table["std_diff"].abs() >= MIN_DIFFERENCE]
    table = table.reindex(table["std_diff"].abs().sort_values(ascending=False).index).head(TOP)
    return [
        {str(k): (round(float(v), 3) if isinstance(v, float | np.floating) else v)
         for k, v in r.items()}
        for r in table.to_dict("records")
    ]  # fmt: skip


def generated_name(features: Features, labels: np.ndarray, persona: int) -> str:
    """`App-first · delighted at Purchase · disappointed at Delivery`, from the largest
    differences in channel share and stage score."""
    frame, mine = features.frame, labels == persona
    diffs = {}
    for column, (kind, value) in features.source.items():
        if kind in ("score", "channel"):
            values = frame[column].astype(float)
            sd = values.std()
            if sd and not np.isnan(sd):
                diffs[column] = ((values[mine].mean() - values.mean()) / sd, kind, value)
    parts = []
    channels = [(d, v) for d, k, v in diffs.values() if k == "channel" and d >= MIN_DIFFERENCE]
    if channels:
        parts.append(f"{max(channels)[1].capitalize()}-first")
    scores = [(d, v) for d, k, v in diffs.values() if k == "score"]
    if scores and max(scores)[0] >= MIN_DIFFERENCE:
        parts.append(f"delighted at {max(scores)[1]}")
    if scores and min(scores)[0] <= -MIN_DIFFERENCE:
        parts.append(f"disappointed at {min(scores)[1]}")
    return " · ".join(parts) or f"Persona {persona}"


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def typical(features: Features, labels: np.ndarray, persona: int) -> dict[str, Any]:
    """Most common value (with its share) of each categorical attribute, channel shares."""
    frame, mine = features.frame[labels == persona], {}
    for column in features.groups["categorical"]:
        counts = frame[column].value_counts(normalize=True)
        if not counts.empty:
            mine[features.source[column][1]] = {
                "value": str(counts.index[0]),
                "share": round(float(counts.iloc[0]), 3),
            }
    channels = {
        value: round(float(frame[column].mean()), 3)
        for column, (kind, value) in features.source.items()
        if kind == "channel"
    }
    return {"attributes": mine, "channels": dict(sorted(channels.items(), key=lambda kv: -kv[1]))}


def outcome_rates(outcomes: pd.DataFrame, customers: pd.Index) -> dict[str, float]:
    """Per outcome, its KPI with the kind read from all customers' answers, never from the
    column's name (cxdata.analysis.outcomes): the share for yes/no (0-1), the NPS in points
    for 0-10 answers, else the mean."""
    rates = {}
    for name, answers in outcomes.groupby("name"):
        kind = kind_of_numbers(answers["number"])
        answered = answers[answers["customer_id"].isin(customers)]
        mine = answered.groupby("customer_id")["number"].mean().dropna()
        if kind is None or mine.empty:
            continue
        value = kpi_of(kind, mine)["value"]
        rates[str(name)] = round(float(value), 1 if kind == "nps" else 3)
    return rates
