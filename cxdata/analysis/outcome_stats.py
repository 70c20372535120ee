"""The statistics of an outcome KPI, from counts (pure: tested by simulation).

- **rate** (yes/no outcomes): the share of customers answering the positive value, with
  Wilson's score interval (statsmodels `proportion_confint(method="wilson")`);
- **nps** (0-10 answers): promoters (9-10) minus detractors (0-6), in points on -100..+100,
  with the adjusted-Wald interval of the trinomial (Rocks 2016): add 3/4 of a promoter and
  3/4 of a detractor (3 customers in all, the passives' share 3/2), then
  NPS' ± z·sqrt((p' + d' - NPS'²) / (n + 3)), clipped to -100..+100;
- **mean** (other numeric scales, e.g. CSAT 1-5, CES 1-7): the mean with a t interval.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

Kind = Literal["rate", "nps", "mean"]
KINDS: tuple[Kind, ...] = ("rate", "nps", "mean")
LEVEL = 0.95
PROMOTER, DETRACTOR = 9, 6  # promoter: answer >= 9; detractor: answer <= 6
_ADJUST = 0.75  # pseudo-promoters and pseudo-detractors of the adjusted Wald (3 customers)


def rate_interval(successes: float, n: int) -> tuple[float, float, float]:
    """(share, low, high) of `successes` among `n`, Wilson score interval; NaN when n = 0."""
    if n <= 0:
        return (np.nan, np.nan, np.nan)
    low, high = proportion_confint(successes, n, alpha=1 - LEVEL, method="wilson")
    return (successes / n, float(low), float(high))


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """(NPS, low, high) in points, adjusted-Wald interval of the trinomial; NaN when n = 0."""
    if n <= 0:
        return (np.nan, np.nan, np.nan)
    nps = (promoters - detractors) / n
    n_adj = n + 4 * _ADJUST
    p = (promoters + _ADJUST) / n_adj
    d = (detractors + _ADJUST) / n_adj
    centre = p - d
    half = stats.norm.ppf(0.5 + LEVEL / 2) * np.sqrt(max(p + d - centre**2, 0.0) / n_adj)
    low, high = max(centre - half, -1.0), min(centre + half, 1.0)
    return (100 * nps, 100 * low, 100 * high)


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float, float]:
    """(mean, low, high) with a t interval; no interval below two answers."""
    if n <= 0:
        return (np.nan, np.nan, np.nan)
    if n < 2 or not np.isfinite(sd):
        return (float(mean), np.nan, np.nan)
    half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * sd / np.sqrt(n)
    return (float(mean), float(mean - half), float(mean + half))


def summarise(kind: Kind, y: np.ndarray) -> dict[str, float]:
    """The KPI of one group from each customer's answer `y` (for a rate: 1 = positive)."""
    y = np.asarray(y, dtype=float)
    y = y[~np.isnan(y)]
    n = len(y)
    if kind == "rate":
        value, low, high = rate_interval(float(y.sum()), n)
    elif kind == "nps":
        value, low, high = nps_interval(int((y >= PROMOTER).sum()), int((y <= DETRACTOR).sum()), n)
    else:
        sd = float(np.std(y, ddof=1)) if n > 1 else np.nan
        value, low, high = mean_interval(float(y.mean()) if n else np.nan, sd, n)
    return {"value": value, "ci_low": low, "ci_high": high, "n": n}
