"""Units of observation and the double-coding rule, shared by every analysis.

A unit is one customer x stage x touchpoint x interaction code (a missing touchpoint or
code is a value of its own). When several observers coded the same unit (double coding,
done to check agreement), the unit counts once: its score is the mean of the observers'
values, each observer's value being the sum of their scores for that unit.

The mean of the observers' sums is the unit's total divided by its number of observers, so
the rule is applied by dividing each observation's score by the number of observers of its
unit: every sum over whole units (a customer's stage or touchpoint score, its positive and
negative parts) then follows the rule without any change downstream. The scores' tables keep
counting recorded rows (`n_observations`); persona features count a double-coded unit's rows
as the mean of its observers' counts (`observation_count`), so a re-coded customer does not
look twice as observed. Data without double coding skips the rule (`double_coded`, checked
once per data version), so it runs as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from cxdata.analysis.filters import Filters
from cxdata.engine import Engine

UNIT_KEYS = ("customer_id", "stage", "touchpoint", "interaction")
ABSENT = "\x00"  # a missing key value (or observer), distinct from every real text value

RULE = (
    "A unit is one customer x stage x touchpoint (x interaction code when present). When "
    "several observers coded the same unit (double coding), it counts once: its score is the "
    "mean of their values, each observer's value being the sum of their scores for that unit. "
    "Observation counts are counts of recorded rows, both observers' included."
)

_known: dict[tuple[str, str], bool] = {}
_known_lock = threading.Lock()


def unit_key_columns(obs: ir.Table, within: Sequence[str] = ()) -> dict[str, ir.Value]:
    """The unit's key as text columns `_k0, _k1, ...` (missing values as ABSENT, so that
    units with no touchpoint or code group and join like any other), plus `within`:
    grouping columns that split a unit (an observer's own cell keeps their own values)."""
    keys = list(dict.fromkeys([*UNIT_KEYS, *within]))
    return {f"_k{i}": obs[k].cast("string").fill_null(ABSENT) for i, k in enumerate(keys)}


def observer_column(obs: ir.Table) -> ir.StringValue:
    """The observer as text, a missing observer being one observer of its own."""
    return obs.observer.cast("string").fill_null(ABSENT)


def counted_once(obs: ir.Table, within: Sequence[str] = ()) -> ir.Table:
    """`obs` (observation rows) with each score divided by the number of observers of its
    unit (within the `within` columns), so that sums over units follow the rule."""
    keys = unit_key_columns(obs, within)
    tagged = obs.mutate(**keys, _who=observer_column(obs))
    per_unit = tagged.group_by(list(keys)).aggregate(_observers=tagged._who.nunique())
    shared = per_unit.filter(per_unit._observers > 1)
    joined = tagged.left_join(shared, list(keys))
    divisor = joined._observers.fill_null(1).cast("float64")
    out = joined.mutate(score=joined.score / divisor, unit_weight=1.0 / divisor)
    return out.drop(*[c for c in out.columns if c.startswith("_k")], "_who", "_observers")


def observation_count(obs: ir.Table, where: ir.BooleanValue) -> ir.NumericScalar:
    """Observations where `where` holds, a double-coded unit's rows counting as the mean of
    its observers' counts (each row weighs 1 / observers; `counted_once` tables), else the
    number of rows."""
    if "unit_weight" not in obs.columns:
        return obs.count(where=where)
    return obs.unit_weight.sum(where=where).fill_null(0)


def has_double_coding(backend: ibis.BaseBackend) -> bool:
    """Whether any unit of the stored observations was coded by two or more observers."""
    obs = backend.table("observations")
    tagged = obs.mutate(_who=observer_column(obs))  # GROUP BY puts missing keys together
    units = tagged.group_by(list(UNIT_KEYS)).aggregate(lo=tagged._who.min(), hi=tagged._who.max())
    return bool(units.filter(units.lo != units.hi).limit(1).count().execute())


def has_double_coding_of(engine: Engine) -> bool:
    """`has_double_coding` over the engine's data, uncached (what a new data version costs)."""
    with engine.ibis() as backend:
        return has_double_coding(backend)


def _engine_key(engine: Engine) -> str:
    """What tells engines apart in this process (the database file for DuckDB)."""
    where = getattr(getattr(engine, "store", engine), "path", None)
    return f"{type(engine).__name__}:{where if where is not None else id(engine)}"


def double_coded(engine: Engine) -> bool:
    """`has_double_coding` for the engine's data, checked once per data version."""
    key = (_engine_key(engine), engine.data_version())
    with _known_lock:
        known = _known.get(key)
    if known is not None:
        return known
    found = has_double_coding_of(engine)
    with _known_lock:
        _known[key] = found
    return found


def observations(
    engine: Engine, backend: ibis.BaseBackend, filters: Filters, within: Sequence[str] = ()
) -> ir.Table:
    """The filtered observations with the unit rule applied when the data has double
    coding (per-customer features, and any analysis that sums scores)."""
    obs = filters.apply(backend)
    return counted_once(obs, within) if double_coded(engine) else obs
