"""The DuckDB store: the system of record for batches, observations, the framework, persona
models and the audit trail. SQL text lives here and in `cxdata.ingest`, nowhere else."""

from cxdata.store.database import (
    CANONICAL_TEXT,
    OBSERVATION_COLUMNS,
    Store,
    StoreBusyError,
    StoreError,
    journey_order,
    scratch_dir_for,
    scratch_dir_of,
)

__all__ = [
    "CANONICAL_TEXT",
    "OBSERVATION_COLUMNS",
    "Store",
    "StoreBusyError",
    "StoreError",
    "journey_order",
    "scratch_dir_for",
    "scratch_dir_of",
]
