"""The persona model: a scikit-learn Pipeline (ColumnTransformer -> clusterer) and the
choice of the number of personas by silhouette and bootstrap stability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

METHODS = ("kmeans", "gmm", "agglomerative")
MAX_AGGLOMERATIVE = 20_000  # Ward linkage is quadratic in memory
REFERENCE_INITS = 10  # the solution per k: many starts, so it is the best one found
REFIT_INITS = 4  # each bootstrap refit
STABLE = 0.8  # mean adjusted Rand index from which a solution counts as reproducible

Progress = Callable[[float, str], object]


@dataclass(frozen=True)
class PersonaSettings:
    """Everything that decides a persona model (stored with it)."""

    k: int | None = None  # None: choose automatically within k_range
    k_range: tuple[int, int] = (3, 8)
    method: str = "kmeans"
    seed: int = 0
    bootstraps: int = 10
    sample_size: int = 5_000  # customers (seeded sample) for silhouette and stability
    attributes: tuple[str, ...] | None = None  # None: the default attributes


def make_pipeline(
    groups: dict[str, list[str]], method: str, k: int, seed: int, init: np.ndarray | None = None
) -> Pipeline:
    """Scale numbers, then impute missing ones with the mean (0 once scaled) plus a 0/1
    indicator per column; one-hot encode categories; then cluster. The indicators stay 0/1:
    scaled, a rarely missing stage would get a huge weight. Output keeps feature names for
    the profiles."""
    numeric = Pipeline([
        ("scale", StandardScaler()),
        ("impute", SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True)),
    ])  # fmt: skip
    categorical = Pipeline([
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ])  # fmt: skip
    features = ColumnTransformer(
        [("num", numeric, groups["numeric"]), ("cat", categorical, groups["categorical"])],
        verbose_feature_names_out=False,
    )
    model = clusterer(method, k, seed, init)
    return Pipeline([("features", features), ("cluster", model)]).set_output(transform="pandas")


def clusterer(
    method: str, k: int, seed: int, init: np.ndarray | None = None, n_init: int = 4
) -> KMeans | GaussianMixture | AgglomerativeClustering:
    """The clustering step; k-means may start from given centres (fitted on a sample)."""
    if method == "kmeans":
        if init is not None:
            return KMeans(n_clusters=k, init=init, n_init=1, random_state=seed)
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    if method == "gmm":
        # spherical: 0/1 indicator and one-hot columns make richer covariances degenerate
        return GaussianMixture(
            n_components=k, covariance_type="spherical", n_init=2, random_state=seed
        )
    if method == "agglomerative":
        return AgglomerativeClustering(n_clusters=k, linkage="ward")
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _labels(method: str, k: int, seed: int, z: np.ndarray, n_init: int = 4) -> np.ndarray:
    return np.asarray(clusterer(method, k, seed, n_init=n_init).fit_predict(z))


def diagnostics(
    z: np.ndarray, settings: PersonaSettings, progress: Progress | None = None
) -> pd.DataFrame:
    """Per k: silhouette of the solution on `z`, and stability = mean adjusted Rand index
    between it and refits on bootstrap resamples (compared on the resampled customers)."""
    with threadpool_limits(limits=1):  # many small fits: threads cost more than they give
        return _diagnostics(z, settings, progress)


def _diagnostics(
    z: np.ndarray, settings: PersonaSettings, progress: Progress | None
) -> pd.DataFrame:
    rng = np.random.default_rng(settings.seed)
    ks = [settings.k] if settings.k else list(range(settings.k_range[0], settings.k_range[1] + 1))
    rows = []
    for step, k in enumerate(ks):
        if progress:
            progress(0.1 + 0.7 * step / len(ks), f"Trying {k} personas")
        labels = _labels(settings.method, k, settings.seed, z, n_init=REFERENCE_INITS)
        silhouette = float(silhouette_score(z, labels))
        scores = []
        for b in range(settings.bootstraps):
            idx = rng.choice(len(z), size=len(z), replace=True)
            refit = _labels(settings.method, k, settings.seed + b + 1, z[idx], n_init=REFIT_INITS)
            scores.append(adjusted_rand_score(labels[idx], refit))
        rows.append({"k": k, "silhouette": silhouette, "stability": float(np.mean(scores))})
    return pd.DataFrame(rows)


def pick_k(diag: pd.DataFrame) -> tuple[int, str]:
    """The most reproducible solution (highest stability; within 0.02 of it, the better
    separated one), and why, in one sentence. Silhouette alone keeps rising with k on
    many features; stability peaks where the structure is real."""
    top = diag["stability"].max()
    near = diag[diag["stability"] >= top - 0.02]
    best = near.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    k = int(best.k)
    caution = "" if best.stability >= STABLE else "; below 0.8, so treat the personas with caution"
    return k, (
        f"{k} personas: the solution that best reproduces on resampled customers (stability "
        f"{best.stability:.2f}{caution}), with silhouette {best.silhouette:.2f}."
    )


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Persona 1 is the largest: numbers that do not depend on the clusterer's order."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = {old: new for new, old in enumerate(order, start=1)}
    return np.array([mapping[v] for v in labels])


@dataclass
class Fit:
    """A fitted persona model: labels (1 = largest persona) in the order of the input rows."""

    labels: np.ndarray
    k: int
    diagnostics: pd.DataFrame
    explanation: str
    pipeline: Pipeline


def fit_personas(
    x: pd.DataFrame,
    groups: dict[str, list[str]],
    settings: PersonaSettings,
    progress: Progress | None = None,
) -> Fit:
    """Choose k on a seeded sample (or take the given k), then fit every customer.

    k-means on all customers starts from the centres found on the sample, which makes the
    final fit fast on a million customers and keeps refits identical."""
    if settings.method not in METHODS:
        raise ValueError(f"unknown method {settings.method!r}; choose one of {METHODS}")
    if settings.method == "agglomerative" and len(x) > MAX_AGGLOMERATIVE:
        raise ValueError(
            f"agglomerative clustering handles up to {MAX_AGGLOMERATIVE:,} customers; "
            f"there are {len(x):,}: use kmeans or gmm"
        )
    if progress:
        progress(0.02, "Preparing features")
    prepare = make_pipeline(groups, "kmeans", 2, settings.seed).named_steps["features"]
    z_all = prepare.fit_transform(x).to_numpy(dtype=float)
    rng = np.random.default_rng(settings.seed)
    size = min(len(x), settings.sample_size)
    z = z_all[np.sort(rng.choice(len(x), size=size, replace=False))]
    diag = diagnostics(z, settings, progress)
    if settings.k:
        k = settings.k
        row = diag.iloc[0]
        explanation = (
            f"{k} personas, as chosen (silhouette {row.silhouette:.2f}, stability "
            f"{row.stability:.2f})."
        )
    else:
        k, explanation = pick_k(diag)
    if progress:
        progress(0.85, f"Fitting {k} personas to all {len(x):,} customers")
    init = None
    if settings.method == "kmeans":
        with threadpool_limits(limits=1):
            start = KMeans(n_clusters=k, n_init=REFERENCE_INITS, random_state=settings.seed)
            init = start.fit(z).cluster_centers_
    pipeline = make_pipeline(groups, settings.method, k, settings.seed, init)
    # The features are prepared once: the final clusterer fits the matrix already made,
    # and the returned Pipeline holds both fitted steps.
    pipeline.steps[0] = ("features", prepare)
    labels = relabel_by_size(np.asarray(pipeline.named_steps["cluster"].fit_predict(z_all)))
    return Fit(labels, k, diag, explanation, pipeline)
