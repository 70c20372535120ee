"""The engine seam: analysis runs on an `Engine` (an Ibis backend with the canonical tables,
the settings, the journey order). `DuckDBEngine` is the embedded store; `SparkEngine` reads
the Parquet lake that `cxdata lake sync` writes. Import stays light: pyspark loads only
when a Spark engine is made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cxdata.engine.base import CANONICAL_TABLES, Engine, EngineError
from cxdata.engine.duckdb_engine import DuckDBEngine

if TYPE_CHECKING:
    from cxdata.config import Settings
    from cxdata.store import Store

__all__ = ["CANONICAL_TABLES", "DuckDBEngine", "Engine", "EngineError", "open_engine"]


def open_engine(settings: Settings, store: Callable[[], Store]) -> Engine:
    """The engine the settings name (`engine`): the store (opened by `store()` only then),
    or Spark over the lake (`lake`, `spark_master`)."""
    if settings.engine == "spark":
        from cxdata.engine.spark_engine import SparkEngine

        return SparkEngine.from_settings(settings)
    return DuckDBEngine(store())
