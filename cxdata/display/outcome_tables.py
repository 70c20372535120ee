"""Outcome KPIs as a reader sees them: rates in percent, NPS in signed points, means with
two decimals, each with its 95% interval and n (pure pandas, tested without Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def kpi_text(row: Mapping[Any, Any]) -> str:
    """`55%`, `+12`, `3.84`; `n/a` without answers."""
    value = row["value"]
    if not row["n"] or pd.isna(value):
        return "n/a"
    if row["kind"] == "rate":
        return f"{value:.0%}"
    if row["kind"] == "nps":
        return f"{value:+.0f}"
    return f"{value:.2f}"


def interval_text(row: Mapping[Any, Any]) -> str:
    """`95% CI 52% to 58%, n = 1,024` in the KPI's own unit (low n said)."""
    low, high, n = row["ci_low"], row["ci_high"], int(row["n"])
    low_n = " (low n)" if row.get("low_n") else ""
    if pd.isna(low):
        return f"no interval, n = {n:,}{low_n}"
    if row["kind"] == "rate":
        ci = f"{low:.0%} to {high:.0%}"
    elif row["kind"] == "nps":
        ci = f"{low:+.0f} to {high:+.0f}"
    else:
        ci = f"{low:.2f} to {high:.2f}"
    return f"95% CI {ci}, n = {n:,}{low_n}"


def kpi_label(row: Mapping[Any, Any]) -> str:
    """`recommended (share yes)`, `likely (NPS)`, `csat (mean)`."""
    what = {"rate": f"share {row.get('positive')}", "nps": "NPS", "mean": "mean"}[row["kind"]]
    return f"{row['outcome']} ({what})"


def outcome_table(kpis: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """One row per outcome (and group): Outcome, the group, KPI, 95% interval, n, low n."""
    rows = []
    for r in kpis.to_dict("records"):
        row: dict[str, object] = {"Outcome": kpi_label(r)}
        if by:
            row[by.replace("_", " ")] = r[by]
        low, high = r["ci_low"], r["ci_high"]
        ci = interval_text({**r, "low_n": False}).split(", n =")[0]
        row |= {"KPI": kpi_text(r), "95% interval": ci if not pd.isna(low) and not pd.isna(high)
                else "n/a", "n": int(r["n"]), "low n": bool(r["low_n"])}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
