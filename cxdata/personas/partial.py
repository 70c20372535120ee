"""k-means on partly unrated data: distances and centres over the values a customer gave.

With every gap filled by one value (the mean, or the customer's own level), customers who
rated little sit together near that value and can form a persona of their own: the gap
pattern, not a kind of person. Here a customer is placed by the ratings they gave (the
distance over their rated values, scaled up to all dimensions) and each centre is the mean
of the values given, so a gap carries no weight at all.
"""

from __future__ import annotations

import numpy as np

MAX_ITER = 50


def partial_distances(z: np.ndarray, observed: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distances (customers x centres) over each customer's observed values, scaled
    by dimensions / observed dimensions so that customers with gaps are comparable."""
    mask = observed.astype(float)
    scale = z.shape[1] / np.maximum(mask.sum(axis=1), 1.0)
    distances = np.empty((len(z), len(centres)))
    for k, centre in enumerate(centres):
        distances[:, k] = (((z - centre) ** 2) * mask).sum(axis=1) * scale
    return distances


def centres_of(z: np.ndarray, observed: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each cluster's mean over the values its customers gave (0 where none gave one)."""
    ks = np.unique(labels)
    mask = observed.astype(float)
    values = np.where(observed, z, 0.0)
    centres = np.zeros((int(ks.max()) + 1, z.shape[1]))
    for k in ks:
        counts = mask[labels == k].sum(axis=0)
        centres[k] = values[labels == k].sum(axis=0) / np.maximum(counts, 1.0)
    return centres


def filled(z: np.ndarray, observed: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`z` with every gap filled from the customer's own cluster centre: the completed data
    on which the solution is judged (silhouette), so fillers do not favour any k."""
    return np.where(observed, z, centres_of(z, observed, labels)[labels])


def partial_kmeans(
    z: np.ndarray, observed: np.ndarray, centres: np.ndarray, max_iter: int = MAX_ITER
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd iterations from `centres` with partial distances; returns (labels, centres).
    A centre's coordinate is the mean of its customers' observed values there (kept when
    none of them has one); a centre left without customers stays where it was. The labels
    returned are always the nearest of the centres returned (as scikit-learn's final step),
    so assigning by the centres (`assign`) gives them back."""
    centres = centres.astype(float).copy()
    labels = np.full(len(z), -1)
    mask = observed.astype(float)
    values = np.where(observed, z, 0.0)
    for _ in range(max_iter):
        new = partial_distances(z, observed, centres).argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in range(len(centres)):
            members = labels == k
            if not members.any():
                continue
            counts = mask[members].sum(axis=0)
            sums = values[members].sum(axis=0)
            given = counts > 0
            centres[k, given] = sums[given] / counts[given]
    else:  # no convergence within max_iter: the labels of the last centres
        labels = partial_distances(z, observed, centres).argmin(axis=1)
    return labels, centres
