"""Outcome KPIs per group, the kind read from the answers, never from the column's name.

Definitions (shown in the app under "How outcome KPIs are computed"):
- each customer counts once per outcome: the mean of their answers (several batches);
- **rate**: a yes/no outcome, i.e. numbers that are only 0 and 1 (the mapping's `positive`
  values are stored as 1; text beside them such as "n/a" is no answer), or text with
  exactly two distinct values (the positive one is a yes-word such as yes/ja/true, else
  the first alphabetically; `positive` names it). The
  share of customers with the positive answer, 0-1, with a 95% Wilson score interval;
- **nps**: whole numbers from 0 to 10 reaching above 7. Promoters (9-10) minus detractors
  (0-6), in points on -100..+100, with the 95% adjusted-Wald interval of the trinomial
  (Rocks 2016: 3/4 of a promoter and 3/4 of a detractor added before the Wald interval);
- **mean**: any other numeric scale (CSAT 1-5, CES 1-7, ...): the mean with a 95% t interval;
- groups: persona (latest model), a customer attribute (customers without a value form the
  "(unknown)" row), a period of the customer's last observation within the filters
  (observed_month, observed_quarter, observed_year), or an observation column such as study
  (a customer observed in two studies counts in both);
- `n` is the customers with an answer in the group; `low_n` when n < min_customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters, bound_values
from cxdata.analysis.order import NONE, UNKNOWN
from cxdata.analysis.outcome_stats import (
    DETRACTOR,
    PROMOTER,
    Kind,
    mean_interval,
    nps_interval,
    rate_interval,
    summarise,
)
from cxdata.analysis.scoring import OBSERVATION_DIMENSIONS, _check_names, period_of
from cxdata.analysis.segments import customer_values
from cxdata.engine import Engine
from cxdata.store.schema import PERIODS

DEFINITIONS = __doc__.split('(shown in the app under "How outcome KPIs are computed"):')[1]
YES_WORDS = ("yes", "y", "true", "ja", "j", "oui", "si", "sí", "1", "recommended", "satisfied")
"""Text answers read as the positive side of a two-valued outcome (compared lower-cased)."""
FIELDS = ["outcome", "kind", "positive", "value", "ci_low", "ci_high", "n", "low_n"]


@dataclass(frozen=True)
class OutcomeKind:
    """How an outcome is summarised: its kind, and for a text rate the value counted."""

    name: str
    kind: Kind
    positive: str | None = None  # the answer counted by a rate ("1" for 0/1 numbers)
    text: bool = False  # a rate read from text answers (no numbers stored)


def outcome_kinds(engine: Engine) -> list[OutcomeKind]:
    """Every outcome in the store with its kind, detected from its stored values."""
    with engine.ibis() as backend:
        return _kinds(backend)


def _kinds(backend: ibis.BaseBackend) -> list[OutcomeKind]:
    attrs = backend.table("customer_attributes")
    mine = attrs.filter(attrs.kind == "outcome")
    answer = mine.value.strip().lower()
    info = mine.group_by("name").aggregate(**answer_summary(mine)).order_by("name").to_pandas()
    ones = mine.filter(mine.number == 1).select("name", one=answer).distinct().to_pandas()
    one = {str(k): "/".join(sorted(map(str, g["one"]))) for k, g in ones.groupby("name")}
    kinds = []
    for r in info.itertuples(index=False):
        name = str(r.name)
        kind = kind_from_summary(r.rows, r.numbers, r.lo, r.hi, r.non_binary, r.fractional,
                                 r.distinct)  # fmt: skip
        if kind == "rate" and r.numbers:  # the answers stored as 1 name the positive side
            kinds.append(OutcomeKind(name, "rate", str(one.get(name, "1"))))
        elif kind == "rate":
            this = bound_values(("name",), [(name,)])
            values = sorted(
                mine.filter(mine.name.isin(this.name)).select(v=answer).distinct().to_pandas()["v"]
            )
            yes = [v for v in values if v in YES_WORDS]
            kinds.append(OutcomeKind(name, "rate", (yes or values)[0], text=True))
        elif kind is not None:
            kinds.append(OutcomeKind(name, kind))
    return kinds


SUMMARY_FIELDS = ("rows", "numbers", "lo", "hi", "non_binary", "fractional", "distinct")
"""`kind_from_summary`'s arguments in order: the keys of `answer_summary`."""


def answer_summary(mine: ir.Table) -> dict[str, ir.Value]:
    """What `kind_from_summary` reads, as aggregates over an outcome's rows `mine`."""
    return {
        "rows": mine.count(),
        "numbers": mine.number.count(),
        "lo": mine.number.min(),
        "hi": mine.number.max(),
        "non_binary": ((mine.number != 0) & (mine.number != 1)).sum(),
        "fractional": (mine.number != mine.number.floor()).sum(),
        "distinct": mine.value.strip().lower().nunique(),
    }


def kind_from_summary(
    rows: int,
    numbers: int,
    lo: float,
    hi: float,
    non_binary: int,
    fractional: int,
    distinct: int,
) -> Kind | None:
    """The one rule (see DEFINITIONS) from a summary of an outcome's stored answers: how
    many, how many are numbers, their range, how many are not 0/1, how many not whole, and
    how many distinct answers. None: text with more than two values, no KPI."""
    if numbers and not non_binary:
        return "rate"  # 0/1 numbers (text answers beside them, e.g. "n/a", are no answer)
    if numbers and not fractional and lo >= 0 and hi <= 10 and hi > 7:
        return "nps"
    if not numbers:
        return "rate" if distinct == 2 else None
    return "mean"


def kind_of_numbers(numbers: pd.Series) -> Kind | None:
    """`kind_from_summary` for numeric answers held in pandas (persona profiles)."""
    x = pd.to_numeric(numbers, errors="coerce").dropna()
    if x.empty:
        return None
    return kind_from_summary(len(x), len(x), float(x.min()), float(x.max()),
                             int(((x != 0) & (x != 1)).sum()), int((x != x.round()).sum()),
                             x.nunique())  # fmt: skip


def _answers(backend: ibis.BaseBackend, kinds: list[OutcomeKind]) -> ir.Table:
    """(_cid, name, y): each customer's mean answer (1/0 for a rate) to each outcome, all
    outcomes in one expression. Which outcomes, and the positive answer of a text rate,
    reach the engine as data (a joined table), never as query text."""
    attrs = backend.table("customer_attributes")
    specs = bound_values(
        ("name", "positive", "text"),
        [(k.name, k.positive or "", "1" if k.text else "") for k in kinds],
    )
    joined = attrs.inner_join(specs, attrs.name == specs.name)
    hit = (joined.value.strip().lower() == joined.positive).cast("float64")
    y = ibis.ifelse(joined.text == "1", hit, joined.number)  # number NULL: no answer
    return joined.group_by(_cid=joined.customer_id, name=joined.name).aggregate(y=y.mean())


def _groups(backend: ibis.BaseBackend, by: str | None, filters: Filters) -> ir.Table:
    """(_cid, group) of every customer observed within the filters."""
    obs = filters.apply(backend)
    if by is None:
        return obs.select(_cid=obs.customer_id).distinct().mutate(group=ibis.literal("all"))
    if by in PERIODS:
        last = obs.group_by(_cid=obs.customer_id).aggregate(at=obs.observed_at.max())
        return last.select("_cid", group=period_of(last.at, by).fill_null(NONE))
    if by in OBSERVATION_DIMENSIONS:
        return obs.select(_cid=obs.customer_id, group=obs[by].fill_null(NONE)).distinct()
    customers = obs.select(_cid=obs.customer_id).distinct()
    values = customer_values(backend, by).rename(_vid="_cid")
    joined = customers.left_join(values, customers._cid == values._vid)
    return joined.select(joined._cid, group=joined[by].cast("string").fill_null(UNKNOWN))


def outcome_kpis(
    engine: Engine,
    by: str | None = None,
    filters: Filters = NO_FILTERS,
    outcomes: list[str] | None = None,
) -> pd.DataFrame:
    """One row per outcome (and group of `by`): outcome, kind (rate|nps|mean), positive,
    value, ci_low, ci_high (95%), n, low_n, plus the `by` column. Rates are 0-1, NPS
    points -100..+100. Groups without any answer are listed with n = 0. See DEFINITIONS."""
    with engine.ibis() as backend:
        if by is not None:
            _check_names(backend, [by])
        kinds = [k for k in _kinds(backend) if outcomes is None or k.name in outcomes]
        if outcomes is not None:
            missing = sorted(set(outcomes) - {k.name for k in kinds})
            if missing:
                known = ", ".join(k.name for k in _kinds(backend)) or "none in the store"
                raise FilterError(f"unknown outcome {', '.join(missing)}; choose from: {known}")
        groups = _groups(backend, by, filters)
        stats = _per_group(groups, _answers(backend, kinds)) if kinds else pd.DataFrame()
    rows = []
    # every group with each outcome, n = 0 where nobody in it answered
    for spec in kinds:
        mine = stats[stats["name"] == spec.name].set_index("group")
        for group in sorted(set(stats["group"])):
            r = mine.loc[group] if group in mine.index else _NO_ANSWERS
            rows.append({"outcome": spec.name, "kind": spec.kind, "positive": spec.positive,
                         **_kpi(spec.kind, r), "group": group})  # fmt: skip
    out = pd.DataFrame(rows, columns=[*FIELDS[:-1], "group"])
    out["n"] = out["n"].astype(int)
    out["low_n"] = out["n"] < engine.settings.min_customers
    if by is None:
        return out[FIELDS].reset_index(drop=True)
    out = out.rename(columns={"group": by})
    out["_unknown"] = out[by].isin([UNKNOWN, NONE])
    out = out.sort_values(["outcome", "_unknown", by], kind="stable")
    return out[["outcome", by, *FIELDS[1:]]].reset_index(drop=True)


def _per_group(groups: ir.Table, answers: ir.Table) -> pd.DataFrame:
    """The sufficient statistics per outcome and group, computed in the engine; a group
    whose customers answered nothing comes back once with no outcome name (outcome_kpis
    lists it with n = 0)."""
    joined = groups.left_join(answers, groups._cid == answers._cid)
    y = joined.y
    return (
        joined.group_by(["name", "group"])
        .aggregate(
            n=y.count(),
            total=y.sum(),
            sd=y.std(),
            promoters=(y >= PROMOTER).sum(),
            detractors=(y <= DETRACTOR).sum(),
        )
        .to_pandas()
    )


_NO_ANSWERS = pd.Series({"n": 0, "total": 0.0, "sd": float("nan"), "promoters": 0,
                         "detractors": 0})  # fmt: skip


def _kpi(kind: Kind, r: Any) -> dict[str, float]:
    """value, ci_low, ci_high and n of one group from its sufficient statistics."""
    n = int(r.n or 0)
    total = float(r.total) if n else 0.0
    if kind == "rate":
        value, low, high = rate_interval(total, n)
    elif kind == "nps":
        value, low, high = nps_interval(int(r.promoters or 0), int(r.detractors or 0), n)
    else:
        value, low, high = mean_interval(total / n if n else float("nan"), float(r.sd), n)
    return {"value": value, "ci_low": low, "ci_high": high, "n": n}


def kpi_of(kind: Kind, answers: pd.Series) -> dict[str, float]:
    """The KPI of per-customer answers held in pandas (persona profiles)."""
    return summarise(kind, answers.to_numpy(float))


def sentence(row: dict[str, object]) -> str:
    """`recommended: 55% yes (95% CI 52% to 58%, n = 1,024)`; NPS in points, means as such."""
    n = int(row["n"])  # type: ignore[call-overload]
    if not n:
        return f"{row['outcome']}: no answers"
    value, low, high = (float(row[k]) for k in ("value", "ci_low", "ci_high"))  # type: ignore[arg-type]
    if row["kind"] == "rate":
        what = f"{value:.0%} {row['positive']} (95% CI {low:.0%} to {high:.0%}"
    elif row["kind"] == "nps":
        what = f"NPS {value:+.0f} (95% CI {low:+.0f} to {high:+.0f}"
    else:
        ci = "no CI" if pd.isna(low) else f"95% CI {low:.2f} to {high:.2f}"
        what = f"mean {value:.2f} ({ci}"
    low_n = ", low n" if row.get("low_n") else ""
    return f"{row['outcome']}: {what}, n = {n:,}{low_n})"
