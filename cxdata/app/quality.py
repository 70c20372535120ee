"""Cached reads of the Observation quality page (keyed by the data version, the filters and
the agreement options), over the process's engine."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cxdata.analysis.agreement import AgreementReport, agreement, coverage
from cxdata.analysis.filters import Filters
from cxdata.app.data import _engine


@st.cache_data(show_spinner="Computing agreement…", max_entries=16)
def agreement_report(
    db_path: str, version: str, by: str, metric: str, filters: Filters
) -> AgreementReport:
    return agreement(_engine(db_path), by, metric, filters)


@st.cache_data(show_spinner=False, max_entries=16)
def observer_coverage(db_path: str, version: str, filters: Filters) -> pd.DataFrame:
    return coverage(_engine(db_path), filters)


def disagreement_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The disagreement table as the page shows it: observers' values and notes as text."""
    if table.empty:
        return pd.DataFrame(columns=["customer_id", "stage", "touchpoint", "interaction",
                                     "spread", "values", "notes"])  # fmt: skip
    return table.assign(
        values=[" · ".join(f"{k}: {v:+g}" for k, v in d.items()) for d in table["values"]],
        notes=[" · ".join(f"{k}: {v}" for k, v in d.items() if v) for d in table["notes"]],
    )
