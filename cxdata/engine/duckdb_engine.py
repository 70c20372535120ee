"""The embedded engine: the DuckDB store itself (turns at the file, the app's sandbox, the
memory limit, the kept-open instance all stay the store's)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cxdata.store import Store, version_cache

if TYPE_CHECKING:
    import ibis

    from cxdata.config import Settings


@dataclass(frozen=True)
class DuckDBEngine:
    """Analysis over the store's DuckDB file: each `ibis()` block is one short-lived
    connection of the store (a cursor of the process's open instance)."""

    store: Store
    name = "duckdb"

    @property
    def settings(self) -> Settings:
        return self.store.settings

    @contextmanager
    def ibis(self) -> Iterator[ibis.BaseBackend]:
        """Ibis over one connection; Ibis registers filter values on that connection, so
        they go when it closes."""
        with self.store.ibis() as backend:
            yield backend

    def stage_order(self, present: Iterable[str] | None = None) -> list[str]:
        """The store's journey order; inside an `ibis()` block it reuses the open instance."""
        return self.store.stage_order(present)

    def data_version(self) -> str:
        """The store's data version, re-read only when its files changed."""
        return version_cache.data_version(self.store)

    def describe(self) -> str:
        return f"DuckDB ({self.store.path})"
