"""The engine seam: analysis runs on an `Engine` (an Ibis backend with the canonical tables,
the settings, the journey order). `DuckDBEngine` is the embedded store; `SparkEngine` reads
the Parquet lake that `cxdata lake sync` writes. Import stays light: pyspark loads only
when a Spark engine is made."""

from cxdata.engine.base import CANONICAL_TABLES, Engine, EngineError
from cxdata.engine.duckdb_engine import DuckDBEngine

__all__ = ["CANONICAL_TABLES", "DuckDBEngine", "Engine", "EngineError"]
