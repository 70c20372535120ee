"""Agreement statistics on double-coded units (pure: values in, numbers out).

- Krippendorff's alpha from the `krippendorff` package (its value is the point estimate),
  interval metric by default, ordinal and nominal as options;
- its bootstrap interval: units resampled with replacement (seeded), alpha recomputed on
  each resample from the per-unit coincidence matrices (the same formula as the package:
  Krippendorff 2011, "Computing Krippendorff's alpha-reliability"), 2.5th and 97.5th
  percentiles;
- percent exact agreement: the share of pairs of values within a unit that are equal;
- Gwet's AC1 (Gwet 2008, "Computing inter-rater reliability and its variance in the
  presence of high agreement", Br. J. Math. Stat. Psychol. 61:29-48; several raters and
  missing ratings as in Gwet 2014, Handbook of Inter-Rater Reliability, ch. 4), which stays
  meaningful when one value dominates and alpha collapses. No maintained package: irrCAC
  pins scipy 1.12, so the published formula is implemented here.

Input everywhere: a `unit` code per value (0..U-1) and the observers' values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import krippendorff
import numpy as np
import pandas as pd
from scipy import sparse

METRICS = ("interval", "ordinal", "nominal")
RESAMPLES = 1000
SEED = 0
REQUIRED = 0.80  # Krippendorff: rely on data with alpha >= .800
TENTATIVE = 0.667  # ... and draw tentative conclusions only from alpha >= .667
DOMINANT_SHARE = 0.80  # one value this common: alpha and kappa collapse, AC1 shown


@dataclass(frozen=True)
class Coincidences:
    """Units x values counts of pairable values (units with two or more values only)."""

    counts: sparse.csr_matrix
    domain: np.ndarray  # the distinct values, sorted

    @classmethod
    def of(cls, unit: np.ndarray, value: np.ndarray) -> Coincidences:
        domain, column = np.unique(value, return_inverse=True)
        _, row = np.unique(unit, return_inverse=True)
        counts = sparse.csr_matrix(
            (np.ones(len(value)), (row, column)), shape=(len(np.unique(row)), len(domain))
        )
        pairable = np.asarray(counts.sum(axis=1)).ravel() >= 2
        return cls(counts[pairable], domain)

    @property
    def units(self) -> int:
        return int(self.counts.shape[0])

    @property
    def values(self) -> int:
        return int(self.counts.sum())


def alpha(c: Coincidences, metric: str = "interval") -> float:
    """Krippendorff's alpha by the `krippendorff` package (NaN without variation)."""
    if c.units == 0 or len(c.domain) < 2:
        return float("nan")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    level = cast("Literal['interval', 'ordinal', 'nominal']", metric)
    counts = c.counts.toarray()
    return float(
        krippendorff.alpha(value_counts=counts, value_domain=c.domain, level_of_measurement=level)
    )


def _unit_coincidences(c: Coincidences) -> sparse.csr_matrix:
    """Per unit, its coincidence matrix (n_u n_u' - diag(n_u)) / (m_u - 1), flattened:
    U x V*V."""
    n = c.counts.tocoo()
    m = np.asarray(c.counts.sum(axis=1)).ravel()
    entries = pd.DataFrame({"u": n.row, "v": n.col, "k": n.data})
    pairs = entries.merge(entries, on="u", suffixes=("1", "2"))  # every pair of values in a unit
    same = (pairs["v1"] == pairs["v2"]).to_numpy()
    k1, k2 = pairs["k1"].to_numpy(), pairs["k2"].to_numpy()
    u = pairs["u"].to_numpy()
    vals = (k1 * k2 - np.where(same, k1, 0.0)) / (m[u] - 1)
    cols = pairs["v1"].to_numpy() * len(c.domain) + pairs["v2"].to_numpy()
    return sparse.csr_matrix((vals, (u, cols)), shape=(c.units, len(c.domain) ** 2))


def alpha_from_coincidences(o: np.ndarray, domain: np.ndarray, metric: str) -> np.ndarray:
    """Alpha for a stack of coincidence matrices `o` (B x V x V)."""
    n_c = o.sum(axis=2)  # B x V
    n = n_c.sum(axis=1)
    if metric == "nominal":
        delta = np.broadcast_to(1.0 - np.eye(len(domain)), o.shape)
    elif metric == "interval":
        delta = np.broadcast_to(np.subtract.outer(domain, domain) ** 2, o.shape)
    elif metric == "ordinal":
        cum = np.cumsum(n_c, axis=1)
        lo = np.minimum.outer(np.arange(len(domain)), np.arange(len(domain)))
        hi = np.maximum.outer(np.arange(len(domain)), np.arange(len(domain)))
        between = cum[:, hi] - cum[:, lo] + n_c[:, lo]  # sum of n_g for g in [lo, hi]
        delta = (between - (n_c[:, :, None] + n_c[:, None, :]) / 2) ** 2
    else:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    observed = (o * delta).sum(axis=(1, 2))
    expected = (n_c[:, :, None] * n_c[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - (n - 1) * observed / expected


def bootstrap(
    c: Coincidences, metric: str = "interval", resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """The percentile bootstrap interval (95%) of alpha over units resampled with
    replacement; NaN when there are fewer than two units or no variation."""
    if c.units < 2 or len(c.domain) < 2:
        return float("nan"), float("nan")
    per_unit_t = _unit_coincidences(c).T.tocsr()  # V*V x U
    rng = np.random.default_rng(seed)
    size, out = len(c.domain), []
    chunk = max(1, min(resamples, 2_000_000 // c.units))  # bounded memory per step
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        drawn = rng.integers(0, c.units, size=(b, c.units))
        # how often each unit was drawn in each resample (repeated draws add up)
        flat = (drawn + (np.arange(b) * c.units)[:, None]).ravel()
        weights = np.bincount(flat, minlength=b * c.units).reshape(b, c.units)
        o = np.asarray(per_unit_t @ weights.T.astype(float)).T
        out.append(alpha_from_coincidences(o.reshape(b, size, size), c.domain, metric))
    values = np.concatenate(out)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def percent_agreement(c: Coincidences) -> float:
    """Share of pairs of values in the same unit that are equal (pairs within units)."""
    n = c.counts
    m = np.asarray(n.sum(axis=1)).ravel()
    agree = np.asarray(n.multiply(n).sum(axis=1)).ravel() - m  # sum_k n_uk (n_uk - 1)
    pairs = m * (m - 1)
    return float(agree.sum() / pairs.sum()) if pairs.sum() else float("nan")


def gwet_ac1(c: Coincidences) -> float:
    """Gwet's AC1 (nominal categories = the distinct values; units with >= 2 values):
    pa = mean over units of sum_k r_uk (r_uk - 1) / (r_u (r_u - 1)); pi_k = mean over units of
    r_uk / r_u; pe = sum_k pi_k (1 - pi_k) / (q - 1); AC1 = (pa - pe) / (1 - pe)."""
    q = len(c.domain)
    if c.units == 0 or q < 2:
        return float("nan")
    n = c.counts
    r = np.asarray(n.sum(axis=1)).ravel()
    pa = float(np.mean((np.asarray(n.multiply(n).sum(axis=1)).ravel() - r) / (r * (r - 1))))
    pi = np.asarray((sparse.diags(1.0 / r) @ n).mean(axis=0)).ravel()
    pe = float(np.sum(pi * (1 - pi)) / (q - 1))
    return (pa - pe) / (1 - pe) if pe < 1 else float("nan")


def dominant_share(c: Coincidences) -> float:
    """Share of the most common value among the pairable values."""
    totals = np.asarray(c.counts.sum(axis=0)).ravel()
    return float(totals.max() / totals.sum()) if totals.sum() else float("nan")


def reading(value: float) -> str:
    """Krippendorff's (2004) reading of alpha, e.g. "α = 0.67: tentative; below the 0.80
    usually required"."""
    if not np.isfinite(value):
        return "α cannot be computed: no double-coded unit with varying values"
    if value >= REQUIRED:
        return f"α = {value:.2f}: reliable; at or above the {REQUIRED:.2f} usually required"
    if value >= TENTATIVE:
        return f"α = {value:.2f}: tentative; below the {REQUIRED:.2f} usually required"
    return (
        f"α = {value:.2f}: unreliable; below {TENTATIVE:.2f}, the floor for tentative "
        "conclusions: recalibrate the observers"
    )
