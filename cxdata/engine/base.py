"""What analysis needs from wherever the observations live: an Ibis backend with the
canonical tables, the settings and the journey order. DuckDB (the store) by default,
Spark over the Parquet lake past one machine; the analysis cannot tell them apart."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from cxdata.errors import CxError

if TYPE_CHECKING:
    import ibis

    from cxdata.config import Settings

CANONICAL_TABLES = ("observations", "customer_attributes", "batches", "stages",
                    "framework_versions", "framework_stages", "framework_touchpoints",
                    "framework_interactions", "persona_models", "persona_assignments",
                    "persona_names")  # fmt: skip
"""The tables every engine's backend offers under these names (the store's schema)."""


class EngineError(CxError):
    """An engine cannot be used as configured (no lake, no Java, an unknown engine...)."""


class Engine(Protocol):
    """Where analysis runs. Analysis code uses only these members: queries are Ibis
    expressions over `ibis()`'s canonical tables (CANONICAL_TABLES), never SQL text, a
    DuckDB connection or a Spark session. `cxdata.store.Store` has the same members, so a
    store can be passed where an engine is expected (tests do); the app and the CLI pass
    `DuckDBEngine` or `SparkEngine`."""

    @property
    def settings(self) -> Settings:
        """Thresholds, minimum n and the score scale every analysis reads."""
        ...

    def ibis(self) -> AbstractContextManager[ibis.BaseBackend]:
        """An Ibis backend with the canonical tables for one block of queries; what a block
        registers (filter values) is gone after it."""
        ...

    def stage_order(self, present: Iterable[str] | None = None) -> list[str]:
        """Known stages in journey order: the active framework's, then the configured ones,
        then the others by first appearance (`present`: only those must be placed)."""
        ...

    def data_version(self) -> str:
        """Changes whenever what the engine reads changes: the app's cache key."""
        ...
