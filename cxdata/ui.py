"""The app's edge: cached store access and Streamlit helpers shared by the pages.

Only this module and the pages import streamlit; the rest of cxdata stays testable
without it. Caches are keyed by the store's data version so new batches show at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from cxdata.config import Settings
from cxdata.ingest import IngestError, IngestResult, ingest_bytes, load_sample, parse_mapping
from cxdata.overview import observation_counts
from cxdata.store import Store


@st.cache_resource(show_spinner=False)
def _store(db_path: str) -> Store:
    return Store.open(Settings.from_env(db_path=db_path))


def store() -> Store:
    """The store for this process (the database file named by the settings)."""
    return _store(str(Settings.from_env().db_path))


def ensure_data(s: Store) -> None:
    """On the very first start (a store that never had data) load the sample data set."""
    if not s.settings.load_sample_on_empty or s.get_meta("sample_offered"):
        return
    if s.stats()["batches"] == 0:
        bar = st.progress(0.0, "Loading the sample data set…")
        load_sample(s, progress=lambda f, m: bar.progress(f, m))
        bar.empty()
    s.set_meta("sample_offered", "yes")


@st.cache_data(show_spinner=False, max_entries=8)
def counts(db_path: str, version: str) -> pd.DataFrame:
    return observation_counts(_store(db_path))


@dataclass
class Preview:
    """A dry run of an upload: what would be imported, or every problem."""

    result: IngestResult | None
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    total: int = 0
    message: str = ""


@st.cache_data(show_spinner="Checking the file…", max_entries=4)
def preview(
    db_path: str,
    version: str,
    name: str,
    data: bytes,
    mapping: bytes | None,
    study: str | None,
    sheet: str | None,
) -> Preview:
    """Validate an upload without importing it (cached per content and data version)."""
    try:
        parsed = parse_mapping(mapping, "mapping.toml") if mapping else None
        result = ingest_bytes(
            _store(db_path), name, data, mapping=parsed, study=study, sheet=sheet, dry_run=True
        )
    except IngestError as exc:
        return Preview(None, exc.table(), exc.total, str(exc))
    return Preview(result)


def batch_table(batches: pd.DataFrame) -> pd.DataFrame:
    """Batches as a user reads them: plain column names, newest first."""
    labels = {
        "batch_id": "Batch",
        "source_name": "File",
        "study": "Study",
        "rows": "Observations",
        "customers": "Customers",
        "imported_at": "Imported at",
    }
    return batches[list(labels)].rename(columns=labels)
