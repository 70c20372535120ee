"""Persona profiles a person recognises: size, what sets the persona apart (standardised
difference to all customers), its relatively best and worst stages, typical attributes
(every share with its base) and channels, outcomes, and a descriptive name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxdata.analysis.outcomes import kind_of_numbers, kpi_of
from cxdata.personas.features import Features

MIN_DIFFERENCE = 0.5  # standardised difference from which a feature "distinguishes"
MIN_RELATIVE = 0.25  # sd above/below the persona's own average that names a stage
MIN_KNOWN = 0.3  # share of a persona with a known value, below which it is never "typical"
TOP = 6


def describe(kind: str, value: str, category: str | None = None) -> str:
    """Human words for a feature: `score at Delivery`, `app channel share`."""
    return {
        "score": f"score at {value}",
        "n": f"observations at {value}",
        "channel": f"{value} channel share",
        "attr": f"{value} = {category}" if category is not None else value,
        "level": "overall level (mean standardised rating)",
        "shape": f"rating at {value} relative to own level",
    }[kind]


def distinguishing(features: Features, labels: np.ndarray, persona: int) -> list[dict[str, Any]]:
    """Features whose persona mean differs most from all customers, in standard deviations
    of all customers (categories: the share with that value among those with a known value,
    `known` of the persona; an attribute known for under MIN_KNOWN of the persona is left
    out). Rated stages are described by their rating, not by its parts."""
    frame, mine = features.frame, labels == persona
    rows: list[tuple[str, str, float, float, float, int | None]] = []
    numeric = [c for c in features.groups["numeric"] if features.source[c][0] != "level"]
    numeric += [c for c, (kind, _) in features.source.items()
                if kind == "score" and c not in numeric and c in frame]  # fmt: skip
    for column in numeric:
        values = frame[column].astype(float)
        sd = values.std()
        if not sd or np.isnan(sd):
            continue
        own, overall = values[mine].mean(), values.mean()
        kind, value = features.source[column]
        rows.append((column, describe(kind, value), own, overall, (own - overall) / sd, None))
    for column in features.groups["categorical"]:
        kind, name = features.source[column]
        known = frame[column].notna()
        if (known & mine).sum() < MIN_KNOWN * mine.sum():
            continue
        for category, hits in pd.get_dummies(frame[column].astype("string")).items():
            share = hits[known].astype(float)
            p = share.mean()
            if 0 < p < 1:
                own = share[mine[known]].mean()
                label = describe(kind, name, str(category))
                std_diff = (own - p) / np.sqrt(p * (1 - p))
                n_known = int((known & mine).sum())
                rows.append((f"{column}={category}", label, own, p, std_diff, n_known))
    columns = ["feature", "label", "persona", "overall", "std_diff", "known"]
    table = pd.DataFrame(rows, columns=columns)
    table = table[table["std_diff"].abs() >= MIN_DIFFERENCE]
    table = table.reindex(table["std_diff"].abs().sort_values(ascending=False).index).head(TOP)
    return [
        {str(k): (round(float(v), 3) if isinstance(v, float | np.floating) else v)
         for k, v in r.items() if not (k == "known" and pd.isna(v))}
        for r in table.to_dict("records")
    ]  # fmt: skip


def relative_stages(features: Features, labels: np.ndarray, persona: int) -> dict[str, Any]:
    """The persona's relatively best and worst stage: its mean standardised score per stage
    (among its customers with that stage: `best_n`, `worst_n`) minus its own average over
    the stages, in sd of all customers. Names where it is delighted or disappointed
    compared with itself, not how generous it is."""
    mine = labels == persona
    means, counts = {}, {}
    for column, (kind, stage) in features.source.items():
        if kind == "score" and column in features.frame:
            values = features.frame[column].astype(float)
            sd = values.std()
            if sd and not np.isnan(sd) and values[mine].notna().any():
                means[stage] = (values[mine].mean() - values.mean()) / sd
                counts[stage] = int(values[mine].notna().sum())
    if len(means) < 2:
        return {}
    relative = pd.Series(means) - np.mean(list(means.values()))
    best, worst = relative.idxmax(), relative.idxmin()
    return {"best": str(best), "best_sd": round(float(relative[best]), 3),
            "best_n": counts[best], "worst": str(worst),
            "worst_sd": round(float(relative[worst]), 3), "worst_n": counts[worst]}  # fmt: skip


def _level_word(features: Features, labels: np.ndarray, persona: int) -> str:
    """Generous / Critical / Middling raters, from the persona's mean level (rated data)."""
    if "level" not in features.frame:
        return ""
    level = features.frame["level"].astype(float)
    diff = (level[labels == persona].mean() - level.mean()) / (level.std() or 1.0)
    if diff >= MIN_DIFFERENCE:
        return "Generous"
    return "Critical" if diff <= -MIN_DIFFERENCE else "Middling"


def generated_name(features: Features, labels: np.ndarray, persona: int) -> str:
    """`App-first · delighted at Purchase · disappointed at Delivery`, from the largest
    differences in channel share and stage score; on rated data (surveys)
    `Critical raters · happiest with Cabin staff · least happy with Wi-Fi`, from the level and the
    relatively best and worst stages. Never `Persona N`: without a difference that stands
    out, the relatively best and worst stages, or the most common known value, name it."""
    level = _level_word(features, labels, persona)
    relative = relative_stages(features, labels, persona)
    if level:
        parts = [] if level == "Middling" else [f"{level} raters"]
        if relative and relative["best_sd"] >= MIN_RELATIVE:
            parts.append(f"happiest with {relative['best']}")
        if relative and relative["worst_sd"] <= -MIN_RELATIVE:
            parts.append(f"least happy with {relative['worst']}")
        name = " · ".join(parts) or "Middling raters, even across stages"
        return name[0].upper() + name[1:]
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
    if parts:
        return " · ".join(parts)
    if relative:
        return f"Even · best at {relative['best']}, worst at {relative['worst']}"
    return _by_attribute(features, labels, persona)


def _by_attribute(features: Features, labels: np.ndarray, persona: int) -> str:
    """The most common well-known attribute value (`Mostly Economy Class`), else `Average`."""
    values = typical(features, labels, persona)["attributes"].values()
    known = [(t["share"], t["value"]) for t in values if t["typical"]]
    return f"Mostly {max(known)[1]}" if known else "Average customers"


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def typical(features: Features, labels: np.ndarray, persona: int) -> dict[str, Any]:
    """Most common value of each categorical attribute with its base: `share` of the
    `known` customers with a value, `of_persona` of all `size`; `typical` only when the
    value is known for at least MIN_KNOWN of the persona. Channel shares."""
    frame, mine = features.frame[labels == persona], {}
    for column in features.groups["categorical"]:
        counts = frame[column].value_counts()
        if not counts.empty:
            known, size = int(counts.sum()), len(frame)
            mine[features.source[column][1]] = {
                "value": str(counts.index[0]),
                "share": round(float(counts.iloc[0] / known), 3),
                "count": int(counts.iloc[0]),
                "known": known,
                "size": size,
                "of_persona": round(float(counts.iloc[0] / size), 3),
                "typical": known >= MIN_KNOWN * size,
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
