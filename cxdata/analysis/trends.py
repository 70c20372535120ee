"""Trends: net experience per stage over periods, and the change between two periods tested
with the comparison's procedure.

Definitions (shown in the app under "How trends are computed"):
- a period is `observed_month` (2026-03), `observed_quarter` (2026-Q1) or `observed_year`
  (2026) of the observation time, or a study's waves: `study`, or a customer attribute that
  names the wave (e.g. `wave`); periods sort in natural order (2 before 10);
- per stage and period, each customer's cell score (as on the heatmaps) counts as +1
  (delighted, > 0), -1 (disappointed, < 0) or 0, so their mean is the **net experience**
  (delight share - disappointment share); its 95% interval is the t interval of that mean,
  cut at -1 and +1 where a small n takes it past them;
- **change** between two periods, per stage: net in the later period minus net in the
  earlier one, tested with exactly the comparison's procedure (cxdata.analysis.compare):
  Welch's t-test on the +1/0/-1 values, Benjamini-Hochberg over every stage tested (5% false
  discovery rate), Benjamini-Yekutieli adjusted intervals; `significant` exactly when the
  adjusted interval excludes 0. Stages with fewer than min_customers customers in either
  period are listed untested. A customer observed in both periods is in both samples (the
  test treats them as independent, which makes it approximate for panels).
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from cxdata.analysis.compare import compare_cells
from cxdata.analysis.filters import NO_FILTERS, FilterError, Filters, bound_values
from cxdata.analysis.order import in_journey_order
from cxdata.analysis.overview import _natural
from cxdata.analysis.scoring import (
    OBSERVATION_DIMENSIONS,
    attribute_names,
    cell_scores,
    stage_scores,
)
from cxdata.analysis.units import double_coded
from cxdata.engine import Engine
from cxdata.store.schema import PERIODS

DEFINITIONS = __doc__.split('(shown in the app under "How trends are computed"):')[1]
LEVELS = ("stage", "touchpoint")
PERIOD_CHOICES = ("observed_year", "observed_quarter", "observed_month")


def default_period(dates: tuple[dt.date, dt.date] | None) -> str:
    """The coarsest built-in period with at least two periods in the date range (years, then
    quarters), else months: few, well-filled points rather than many thin ones."""
    if dates is None:
        return "observed_month"
    lo, hi = dates
    if hi.year > lo.year:
        return "observed_year"
    if (hi.month - 1) // 3 > (lo.month - 1) // 3:
        return "observed_quarter"
    return "observed_month"


TREND_FIELDS = ["n_customers", "net_experience", "net_low", "net_high", "delight_share",
                "disappointment_share", "low_n"]  # fmt: skip


def check_period(engine: Engine, period: str) -> None:
    """A period is a built-in period, study, or a customer attribute present in the store
    (a wave); anything else is refused with the choices."""
    if period in (*PERIODS, "study"):
        return
    names = attribute_names(engine)
    if period not in (*OBSERVATION_DIMENSIONS, "persona") and period in names:
        return
    known = ", ".join([*PERIODS, "study", *names])
    raise FilterError(f'"{period}" is no period; choose from: {known}')


def periods(df: pd.DataFrame, period: str) -> list[str]:
    """The distinct periods of a table in natural order."""
    return sorted(map(str, df[period].unique()), key=_natural)


def net_trend(
    engine: Engine,
    period: str = "observed_year",
    filters: Filters = NO_FILTERS,
    level: str = "stage",
) -> pd.DataFrame:
    """Per stage (or touchpoint) and period: n_customers, net_experience with its 95% t
    interval (net_low, net_high), the delight and disappointment shares, low_n. Stages in
    journey order, periods in natural order."""
    if level not in LEVELS:
        raise FilterError(f'level is "stage" or "touchpoint", not "{level}"')
    check_period(engine, period)
    by = [period] if level == "stage" else ["touchpoint", period]
    df = stage_scores(engine, by, filters)
    n = df["n_customers"].astype(float)
    d, q, net = df["delight_share"], df["disappointment_share"], df["net_experience"]
    # the +1/0/-1 values' sample variance: (d + q - net²) n / (n - 1)
    sd = np.sqrt(np.maximum(d + q - net**2, 0) * n / np.maximum(n - 1, 1))
    half = (stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)).where(n > 1)
    # Net lies in [-1, 1]: a low-n t interval reaching past it is cut there (its coverage
    # can only grow), so no bound reads like -3.2.
    df["net_low"], df["net_high"] = (net - half).clip(lower=-1), (net + half).clip(upper=1)
    order = {p: i for i, p in enumerate(periods(df, period))}
    df = df.assign(_period=df[period].astype(str).map(order))
    keys = ["stage", *(["touchpoint"] if level == "touchpoint" else [])]
    df = in_journey_order(df, engine.stage_order(df["stage"].unique()), [*keys[1:], "_period"])
    return df[[*keys, period, *TREND_FIELDS]].astype({period: str})


def change_cells(
    engine: Engine,
    period: str,
    earlier: str,
    later: str,
    filters: Filters = NO_FILTERS,
    level: str = "stage",
) -> pd.DataFrame:
    """The customers of each cell in either period counted in the engine, as `compare_cells`
    takes them: stage (touchpoint), side ("a" = later, "b" = earlier), score as +1/0/-1 and
    `customers` with that score there. One row per cell, side and score crosses to Python,
    never one per customer."""
    if level not in LEVELS:
        raise FilterError(f'level is "stage" or "touchpoint", not "{level}"')
    if earlier == later:
        raise FilterError("choose two different periods to compare")
    check_period(engine, period)
    by = [period] if level == "stage" else ["touchpoint", period]
    with engine.ibis() as backend:
        cells = cell_scores(backend, by, filters, double_coded(engine))
        chosen = bound_values(("later", "earlier"), [(later, earlier)])
        value = cells[period].cast("string")
        is_later = value.isin(chosen.later)
        mine = cells.filter(is_later | value.isin(chosen.earlier))
        keys = ["stage", *(["touchpoint"] if level == "touchpoint" else [])]
        sided = mine.select(
            *keys,
            side=ibis.cases((is_later, "a"), else_="b"),
            score=ibis.cases((mine.score > 0, 1.0), (mine.score < 0, -1.0), else_=0.0),
        )
        counts = sided.group_by([*keys, "side", "score"]).aggregate(customers=sided.count())
        df = counts.to_pandas()
    df.attrs["n_unknown"] = 0
    return df


def change(
    engine: Engine,
    period: str,
    earlier: str,
    later: str,
    filters: Filters = NO_FILTERS,
    level: str = "stage",
) -> pd.DataFrame:
    """Per stage (or touchpoint): net_from (earlier), net_to (later), change (to - from),
    n_from, n_to, tested, ci_low/ci_high (adjusted, at ci_level), ci95_low/ci95_high,
    p_value, q_value, significant. See DEFINITIONS."""
    cells = change_cells(engine, period, earlier, later, filters, level)
    known = set(cells["side"])
    for name, side in ((earlier, "b"), (later, "a")):
        if side not in known:
            raise FilterError(f'no observations in {period} "{name}" within the filters')
    order = engine.stage_order(cells["stage"].unique())
    df = compare_cells(cells, level, engine.settings.min_customers, order)
    df = df.rename(columns={"mean_a": "net_to", "mean_b": "net_from", "diff": "change",
                            "n_a": "n_to", "n_b": "n_from"})  # fmt: skip
    keys = ["stage", *(["touchpoint"] if level == "touchpoint" else [])]
    columns = [*keys, "net_from", "net_to", "change", "n_from", "n_to", "tested", "ci_low",
               "ci_high", "ci_level", "ci95_low", "ci95_high", "p_value", "q_value",
               "significant"]  # fmt: skip
    out = df[columns].copy()
    out.attrs = {"period": period, "earlier": earlier, "later": later}
    return out


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "−")


def sentences(df: pd.DataFrame, earlier: str, later: str, level: str = "stage") -> list[str]:
    """One sentence per row, e.g. "Value for money fell from +0.31 to −0.12 between 2019 and
    2022 (significant)"; significant changes first, then by size."""
    if df.empty:
        return []
    ordered = df.assign(_sig=~df["significant"].astype(bool), _size=-df["change"].abs())
    out = []
    for _, r in ordered.sort_values(["_sig", "_size"], kind="stable").iterrows():
        name = r[level]
        start, end = round(float(r["net_from"]), 2), round(float(r["net_to"]), 2)
        way = "rose" if end > start else "fell" if end < start else "stayed"
        start_text, end_text = _signed(r["net_from"]), _signed(r["net_to"])
        what = f"{name} {way} from {start_text} to {end_text}"
        if way == "stayed":
            what = f"{name} stayed at {start_text}"
        if not r["tested"]:
            verdict = f"not tested: n = {int(r['n_from'])} and {int(r['n_to'])}, too few"
        elif r["significant"]:
            verdict = "significant"
        else:
            verdict = "not significant"
        out.append(f"{what} between {earlier} and {later} ({verdict})")
    return out
