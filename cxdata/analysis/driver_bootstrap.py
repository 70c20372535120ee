"""The relative weights' bootstrap from weighted sums instead of copied resamples.

A bootstrap resample is the data with each customer counted 0, 1, 2... times. Everything a
linear model's relative weights need (means, covariances, correlations with the outcome) is
a sum over customers, so all resamples' sums come from one matrix product of the resample
counts (resamples x customers) with the customers' column products, in row chunks: the same
numbers as refitting each copied resample, at a fraction of the cost for many customers
(copying 100,000 customers x 50 columns 200 times is what made priorities slow).

A logistic model has no such sums: its fit iterates. Below a size budget each resample is
refitted in full; above it, each resample takes one Newton step from the full-data fit (the
"one-step bootstrap" of Moulton & Zeger 1991, "Bootstrapping generalized linear models",
Computational Statistics & Data Analysis 11:53-63), whose Hessian and gradient are again
count-weighted sums; with many customers one step lands within rounding of the refit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from cxdata.analysis.drivers import sqrt_correlation, weights_from_correlations

CHUNK = 4096  # customers per block of the products (bounds the memory: CHUNK x q² floats)
EXACT_BUDGET = 2e6  # customers x columns² up to which logistic resamples are refitted


def resample_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each customer is drawn in each resample (resamples x n), drawing as a
    copied resample would (n customers with replacement), so both ways see the same
    resamples."""
    counts = np.empty((resamples, n), dtype=np.uint16)
    for b in range(resamples):
        counts[b] = np.bincount(rng.integers(0, n, n), minlength=n)
    return counts


def _chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


def cross_products(
    x: np.ndarray, counts: np.ndarray, row_weight: np.ndarray | None = None
) -> np.ndarray:
    """Per resample b: x' diag(counts_b x row_weight) x (resamples x q x q)."""
    q = x.shape[1]
    upper = np.triu_indices(q)
    sums = np.zeros((len(counts), len(upper[0])))
    for rows in _chunks(len(x)):
        block = x[rows]
        products = block[:, upper[0]] * block[:, upper[1]]
        if row_weight is not None:
            products *= row_weight[rows, None]
        sums += counts[:, rows].astype(float) @ products
    out = np.empty((len(counts), q, q))
    out[:, upper[0], upper[1]] = sums
    out[:, upper[1], upper[0]] = sums
    return out


def _moments(x: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: the covariance matrix and standard deviations of the columns of x."""
    sums = cross_products(np.column_stack([np.ones(len(x)), x]), counts)
    n = sums[:, 0, 0]
    mean = sums[:, 0, 1:] / n[:, None]
    cov = sums[:, 1:, 1:] / n[:, None, None] - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    return cov, sd


def _correlation(cov: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Correlations from a covariance; a constant column gets 0s and a 1 on the diagonal."""
    outer = sd[:, :, None] * sd[:, None, :]
    r = np.divide(cov, outer, out=np.zeros_like(cov), where=outer > 1e-12)
    index = np.arange(cov.shape[1])
    r[:, index, index] = 1.0
    return r


def linear_weights(z: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Relative weights of a linear model in every resample (resamples x columns)."""
    cov, sd = _moments(np.column_stack([z, y]), counts)
    r = _correlation(cov, sd)
    p = z.shape[1]
    with one_thread():
        return np.stack([weights_from_correlations(rb[:p, :p], rb[:p, p]) for rb in r])


def logistic_weights(
    z: np.ndarray, y: np.ndarray, coef: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Relative weights of a logistic model in every resample by one Newton step from the
    full-data coefficients `coef` (intercept first, on the columns of z)."""
    x1 = np.column_stack([np.ones(len(z)), z])
    eta = x1 @ coef
    fitted = 1 / (1 + np.exp(-np.clip(eta, -30, 30)))
    hessian = cross_products(x1, counts, fitted * (1 - fitted))
    hessian += 1e-6 * np.eye(x1.shape[1])  # as the full fit: separated data stays finite
    gradient = np.zeros((len(counts), x1.shape[1]))
    for rows in _chunks(len(z)):
        gradient += counts[:, rows].astype(float) @ (x1[rows] * (y[rows] - fitted[rows])[:, None])
    coefs = coef + np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
    cov, sd = _moments(z, counts)
    # Per resample, from count-weighted sums: R²_O = corr(y, fitted p)², var(eta) = b' cov b.
    sums = np.zeros((3, len(counts)))  # per resample: sum of p, of p², of y x p
    n = counts.sum(axis=1).astype(float)
    y_sum, yy_sum = counts @ y, counts @ (y * y)
    for rows in _chunks(len(z)):
        p = 1 / (1 + np.exp(-np.clip(x1[rows] @ coefs.T, -30, 30)))  # customers x resamples
        w = counts[:, rows].T.astype(float)
        sums[0] += (w * p).sum(axis=0)
        sums[1] += (w * p * p).sum(axis=0)
        sums[2] += (w * p * y[rows, None]).sum(axis=0)
    cov_yp = sums[2] / n - (y_sum / n) * (sums[0] / n)
    var_p = sums[1] / n - (sums[0] / n) ** 2
    var_y = yy_sum / n - (y_sum / n) ** 2
    r2 = np.divide(cov_yp**2, var_p * var_y, out=np.zeros_like(n), where=(var_p * var_y) > 0)
    slopes = coefs[:, 1:]
    var_eta = np.einsum("bi,bij,bj->b", slopes, cov, slopes)
    r = _correlation(cov, sd)
    out = np.zeros((len(counts), z.shape[1]))
    with one_thread():
        for b in np.flatnonzero(var_eta > 0):
            lam = sqrt_correlation(r[b])[0]
            beta = lam @ (slopes[b] * sd[b]) * np.sqrt(r2[b] / var_eta[b])
            out[b] = (lam**2) @ (beta**2)
    return out


def one_thread() -> threadpool_limits:
    """Many small matrices (an eigendecomposition per resample): one BLAS thread is several
    times faster than threads competing on a busy machine. The big products keep them."""
    return threadpool_limits(1)
