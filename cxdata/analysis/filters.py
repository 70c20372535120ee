"""Filters that compose with every query over observations (Ibis predicates).

Column names come from users (CLI `--where`, UI widgets), so each is checked against the
schema: a canonical observation column or an attribute name present in the store. The
values reach the engine as data, never as SQL text: an Ibis memtable (`bound_values`),
which the engine registers for the query block (DuckDB: an Arrow table registered on the
block's connection; Spark: a DataFrame-backed temporary view, dropped when the block ends),
and the predicates are semi-joins against it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from cxdata.errors import UsageError

OBSERVATION_FILTERS = ("study", "stage", "touchpoint", "channel", "interaction", "method",
                       "observer")  # fmt: skip
_CONDITION = re.compile(r"^\s*([^=<>]+?)\s*(>=|<=|=)\s*(.*?)\s*$")

Conditions = tuple[tuple[str, tuple[str, ...]], ...]


class FilterError(UsageError):
    """A filter names a column that does not exist, or cannot be read."""


@dataclass(frozen=True)
class Filters:
    """Observation columns and customer attributes with their allowed values (OR within a
    column, AND across columns), plus an inclusive date range on `observed_at`."""

    columns: Conditions = ()
    attributes: Conditions = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def build(
        cls,
        columns: dict[str, list[str]] | None = None,
        attributes: dict[str, list[str]] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> Filters:
        """From widget values; empty selections mean "no filter"."""

        def norm(d: dict[str, list[str]] | None) -> Conditions:
            return tuple(sorted((k, tuple(sorted(map(str, v)))) for k, v in (d or {}).items() if v))

        return cls(norm(columns), norm(attributes), date_from, date_to)

    @classmethod
    def parse(cls, conditions: list[str], attribute_names: set[str]) -> Filters:
        """`COLUMN=VALUE` (repeat for OR), `observed_at>=DATE`, `observed_at<=DATE`."""
        columns: dict[str, list[str]] = {}
        attributes: dict[str, list[str]] = {}
        date_from = date_to = None
        for text in conditions:
            match = _CONDITION.match(text)
            if not match:
                raise FilterError(f'cannot read the condition "{text}"; write COLUMN=VALUE')
            name, op, value = match.groups()
            if name == "observed_at":
                day = _date(value, text)
                if op == ">=":
                    date_from = day
                elif op == "<=":
                    date_to = day
                else:
                    date_from = date_to = day
            elif op != "=":
                raise FilterError(f'"{text}": only observed_at takes >= or <=')
            elif name in OBSERVATION_FILTERS:
                columns.setdefault(name, []).append(value)
            elif name in attribute_names:
                attributes.setdefault(name, []).append(value)
            else:
                known = ", ".join([*OBSERVATION_FILTERS, "observed_at", *sorted(attribute_names)])
                raise FilterError(f'unknown column "{name}" in "{text}"; known: {known}')
        return cls.build(columns, attributes, date_from, date_to)

    def apply(self, backend: ibis.BaseBackend) -> ir.Table:
        """The engine's observations that pass every condition."""
        obs = backend.table("observations")
        values = self._values_table()
        for name, _ in self.columns:
            if name not in OBSERVATION_FILTERS:
                raise FilterError(f'unknown observation column "{name}"')
            obs = obs.filter(obs[name].isin(_allowed(values, "column", name)))
        if self.attributes:
            attributes = backend.table("customer_attributes")
        for name, _ in self.attributes:
            allowed = _allowed(values, "attribute", name)
            matching = attributes.filter(
                (attributes.name == name) & attributes.value.isin(allowed)
            ).customer_id
            obs = obs.filter(obs.customer_id.isin(matching))
        if self.date_from is not None:
            obs = obs.filter(obs.observed_at >= ibis_timestamp(self.date_from))
        if self.date_to is not None:
            obs = obs.filter(obs.observed_at < ibis_timestamp(self.date_to + dt.timedelta(1)))
        return obs

    def _values_table(self) -> ir.Table | None:
        """The allowed values as one table (kind, name, value) the predicates semi-join."""
        rows = [(kind, name, value)
                for kind, conditions in (("column", self.columns), ("attribute", self.attributes))
                for name, values in conditions for value in values]  # fmt: skip
        return bound_values(("kind", "name", "value"), rows) if rows else None

    def describe(self) -> str:
        """One line for captions and downloads, e.g. `study=Retail; from 2026-01-01`."""
        parts = [f"{k}={'|'.join(v)}" for k, v in (*self.columns, *self.attributes)]
        if self.date_from:
            parts.append(f"from {self.date_from}")
        if self.date_to:
            parts.append(f"to {self.date_to}")
        return "; ".join(parts) or "all observations"


def bound_values(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> ir.Table:
    """Text values as an Ibis memtable with these columns: what users chose reaches the
    engine as data to join against, never as SQL text (each call a fresh table; the
    engine drops it after the query block)."""
    data = {c: [str(r[i]) for r in rows] for i, c in enumerate(columns)}
    return ibis.memtable(data, schema={c: "string" for c in columns})


def _allowed(values: ir.Table | None, kind: str, name: str) -> ir.Column:
    assert values is not None  # a condition always brings its values
    return values.filter((values.kind == kind) & (values.name == name)).value


def ibis_timestamp(day: dt.date) -> ir.Value:
    return ibis.timestamp(dt.datetime.combine(day, dt.time()))


def _date(value: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(f'"{text}": the date must look like 2026-03-14') from None


NO_FILTERS = Filters()
