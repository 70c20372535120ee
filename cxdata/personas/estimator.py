"""The persona finder: a scikit-learn estimator (ColumnTransformer -> clusterer) that
chooses the number of personas by silhouette and bootstrap stability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from cxdata.errors import UsageError
from cxdata.personas import MAX_FIT_CUSTOMERS
from cxdata.personas.gaps import MAX_GAP_AMI, check_rule, gap_ami, gap_pattern
from cxdata.personas.partial import filled, partial_kmeans

METHODS = ("kmeans", "gmm", "agglomerative")
MAX_AGGLOMERATIVE = 20_000  # Ward linkage is quadratic in memory
REFERENCE_INITS = 10  # the solution per k: many starts, so it is the best one found
REFIT_INITS = 4  # each bootstrap refit
LEVEL = "level"  # the column of each customer's overall level (rated data, `features`)
STABLE = 0.8  # mean adjusted Rand index from which a solution counts as reproducible

Progress = Callable[[float, str], object]


class PersonaSettingsError(UsageError, ValueError):
    """Settings the finder cannot work with (a ValueError, as scikit-learn's are)."""


@dataclass(frozen=True)
class PersonaSettings:
    """Everything that decides a persona model (stored with it): the finder's parameters
    and the attributes used as features."""

    k: int | None = None  # None: choose automatically within k_range
    k_range: tuple[int, int] = (3, 8)
    method: str = "kmeans"
    seed: int = 0
    bootstraps: int = 10
    sample_size: int = 5_000  # customers (seeded sample) for silhouette and stability
    attributes: tuple[str, ...] | None = None  # None: the default attributes
    gaps: str = "auto"  # what a missing stage means: a rule of gaps.GAP_RULES
    fit_customers: int = MAX_FIT_CUSTOMERS  # at most this many customers fit the model

    def __post_init__(self) -> None:
        check_rule(self.gaps)
        if self.fit_customers < 2:
            raise PersonaSettingsError("fit_customers is the number of customers fitted: >= 2")

    def finder(self) -> PersonaFinder:
        return PersonaFinder(self.k, self.k_range, self.method, self.seed, self.bootstraps,
                             self.sample_size)  # fmt: skip


def make_pipeline(
    groups: dict[str, list[str]],
    method: str,
    k: int,
    seed: int,
    init: np.ndarray | None = None,
    level_weight: float = 1.0,
) -> Pipeline:
    """Scale numbers, then impute missing ones with the mean (0 once scaled) plus a 0/1
    indicator per column; one-hot encode categories; then cluster. The indicators stay 0/1:
    scaled, a rarely missing stage would get a huge weight. `rated` columns (relative
    ratings whose gaps mean "not rated") are scaled and imputed at 0, the customer's own
    level, with no indicator: a gap is no feature and pulls towards no persona. The `level`
    column (a customer's overall level) is scaled and weighted by `level_weight`. Output
    keeps feature names for the profiles."""
    numeric = Pipeline([
        ("scale", StandardScaler()),
        ("impute", SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True)),
    ])  # fmt: skip
    rated = Pipeline([
        ("scale", StandardScaler()),
        ("impute", SimpleImputer(strategy="constant", fill_value=0.0,
                                 keep_empty_features=True)),
    ])  # fmt: skip
    categorical = Pipeline([
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ])  # fmt: skip
    features = ColumnTransformer(
        [
            ("num", numeric, groups["numeric"]),
            ("level", StandardScaler(), groups.get("level", [])),
            ("rated", rated, groups.get("rated", [])),
            ("cat", categorical, groups["categorical"]),
        ],  # fmt: skip
        transformer_weights={"level": level_weight},
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
    raise PersonaSettingsError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _labels(
    method: str,
    k: int,
    seed: int,
    z: np.ndarray,
    n_init: int = 4,
    observed: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster labels; k-means with an `observed` mask (False = not rated) continues from
    its solution with partial distances, so that gaps weigh nothing."""
    model = clusterer(method, k, seed, n_init=n_init)
    labels = np.asarray(model.fit_predict(z))
    if observed is not None and isinstance(model, KMeans):
        labels, _ = partial_kmeans(z, observed, model.cluster_centers_)
    return labels


def diagnostics(
    z: np.ndarray,
    ks: list[int],
    method: str,
    seed: int,
    bootstraps: int,
    progress: Progress | None = None,
    pattern: np.ndarray | None = None,
    observed: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per k: silhouette of the solution on `z`, and stability = mean adjusted Rand index
    between it and refits on bootstrap resamples (compared on the resampled customers);
    with a gap `pattern` (one code per row of `z`) also `gap_ami`, the adjusted mutual
    information between the solution and the pattern of rated items. `observed` (False =
    not rated) makes k-means place customers by the values they gave."""
    rng = np.random.default_rng(seed)
    rows = []
    with threadpool_limits(limits=1):  # many small fits: threads cost more than they give
        for step, k in enumerate(ks):
            if progress:
                progress(0.1 + 0.7 * step / len(ks), f"Trying {k} personas")
            labels = _labels(method, k, seed, z, REFERENCE_INITS, observed)
            judged = z if observed is None else filled(z, observed, labels)
            silhouette = float(silhouette_score(judged, labels))
            scores = []
            for b in range(bootstraps):
                idx = rng.choice(len(z), size=len(z), replace=True)
                mask = None if observed is None else observed[idx]
                refit = _labels(method, k, seed + b + 1, z[idx], REFIT_INITS, mask)
                scores.append(adjusted_rand_score(labels[idx], refit))
            row = {"k": k, "silhouette": silhouette, "stability": float(np.mean(scores))}
            if pattern is not None:
                row["gap_ami"] = gap_ami(labels, pattern)
            rows.append(row)
    return pd.DataFrame(rows)


def pick_k(diag: pd.DataFrame) -> tuple[int, str]:
    """The most reproducible solution (highest stability; within 0.02 of it, the better
    separated one), and why, in one sentence. Silhouette alone keeps rising with k on
    many features; stability peaks where the structure is real. With a `gap_ami` column
    (survey data) only solutions sharing at most MAX_GAP_AMI with the gap pattern compete
    (when none does: those within 0.02 of the lowest, said so)."""
    why = ""
    if "gap_ami" in diag:
        limit = max(MAX_GAP_AMI, float(diag["gap_ami"].min()) + 0.02)
        refused = diag.loc[diag["gap_ami"] > limit, "k"]
        if len(refused):
            why = (f" k = {', '.join(str(int(k)) for k in refused)} not considered: those "
                   f"personas follow which items were rated (adjusted mutual information above "
                   f"{limit:.2f}).")  # fmt: skip
        if limit > MAX_GAP_AMI:
            why += (f" Every k tried shares more than {MAX_GAP_AMI} adjusted mutual "
                    "information with which items were rated: the personas partly follow "
                    "the gaps.")  # fmt: skip
        diag = diag[diag["gap_ami"] <= limit]
    top = diag["stability"].max()
    near = diag[diag["stability"] >= top - 0.02]
    best = near.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    k = int(best.k)
    caution = "" if best.stability >= STABLE else "; below 0.8, so treat the personas with caution"
    return k, (
        f"{k} personas: the solution that best reproduces on resampled customers (stability "
        f"{best.stability:.2f}{caution}), with silhouette {best.silhouette:.2f}.{why}"
    )


def relabel_by_size(labels: np.ndarray) -> dict[int, int]:
    """Cluster -> persona number, persona 1 the largest: numbers that do not depend on the
    clusterer's order."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.lexsort((values, -counts))]
    return {int(old): new for new, old in enumerate(order, start=1)}


class PersonaFinder(ClusterMixin, BaseEstimator):
    """Finds personas in a customers x features frame (scikit-learn estimator contract).

    Parameters are only stored here; `fit` checks them (`_check`, the one place) and sets
    `labels_` (persona numbers, 1 = largest), `k_`, `diagnostics_`, `explanation_` and
    `pipeline_` (features -> clusterer), and with `gap_columns` `gap_ami_`. Numeric columns
    are scaled, categorical ones (object, string, category) one-hot encoded; `gap_columns`
    are numeric columns whose gaps mean "not rated": imputed without an indicator, and k is
    chosen so that the personas do not follow their gap pattern. The same data and
    parameters give the same personas: every random step takes `random_state`.
    """

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 8),
        method: str = "kmeans",
        random_state: int = 0,
        bootstraps: int = 10,
        sample_size: int = 5_000,
        gap_columns: tuple[str, ...] = (),
        level_weight: float = 1.0,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.method = method
        self.random_state = random_state
        self.bootstraps = bootstraps
        self.sample_size = sample_size
        self.gap_columns = gap_columns
        self.level_weight = level_weight

    def _check(self, n: int) -> None:
        """Every parameter, checked once, before any work."""
        if self.method not in METHODS:
            raise PersonaSettingsError(f"unknown method {self.method!r}; choose one of {METHODS}")
        lo, hi = self.k_range
        if not 2 <= lo <= hi or (self.k is not None and self.k < 2):
            raise PersonaSettingsError(
                "k is None or at least 2; k_range is (low, high) with 2 <= low <= high"
            )
        if self.method == "agglomerative" and n > MAX_AGGLOMERATIVE:
            raise PersonaSettingsError(
                f"agglomerative clustering handles up to {MAX_AGGLOMERATIVE:,} customers; "
                f"there are {n:,}: use kmeans or gmm"
            )

    def fit(
        self, X: pd.DataFrame, y: object = None, *, progress: Progress | None = None
    ) -> PersonaFinder:
        """Choose k on a seeded sample (or take the given k), then fit every customer.

        k-means on all customers starts from the centres found on the sample, which makes
        the final fit fast on a million customers and keeps refits identical."""
        self._check(len(X))
        seed = self.random_state
        if progress:
            progress(0.02, "Preparing features")
        categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        rated = [c for c in X.columns if c in set(self.gap_columns) and c not in categorical]
        level = [LEVEL] if rated and LEVEL in X.columns else []
        numeric = [c for c in X.columns if c not in {*categorical, *rated, *level}]
        groups = {"numeric": numeric, "level": level, "rated": rated, "categorical": categorical}
        prepare = make_pipeline(groups, "kmeans", 2, seed, level_weight=self.level_weight)
        prepare = prepare.named_steps["features"]
        z_all = prepare.fit_transform(X).to_numpy(dtype=float)
        observed = self._observed(X, rated, list(prepare.get_feature_names_out()))
        rng = np.random.default_rng(seed)
        size = min(len(X), self.sample_size)
        sample = np.sort(rng.choice(len(X), size=size, replace=False))
        z = z_all[sample]
        pattern = gap_pattern(X, rated) if rated else None
        lo, hi = self.k_range
        ks = [self.k] if self.k else list(range(lo, hi + 1))
        self.diagnostics_ = diagnostics(
            z, ks, self.method, seed, self.bootstraps, progress,
            None if pattern is None else pattern[sample],
            None if observed is None else observed[sample],
        )  # fmt: skip
        if self.k:
            row = self.diagnostics_.iloc[0]
            self.k_, self.explanation_ = (
                self.k,
                (
                    f"{self.k} personas, as chosen (silhouette {row.silhouette:.2f}, stability "
                    f"{row.stability:.2f})."
                ),
            )
        else:
            self.k_, self.explanation_ = pick_k(self.diagnostics_)
        if progress:
            progress(0.85, f"Fitting {self.k_} personas to all {len(X):,} customers")
        init = None
        if self.method == "kmeans":
            with threadpool_limits(limits=1):
                start = KMeans(n_clusters=self.k_, n_init=REFERENCE_INITS, random_state=seed)
                init = start.fit(z).cluster_centers_
                if observed is not None:
                    _, init = partial_kmeans(z, observed[sample], init)
        pipeline = make_pipeline(groups, self.method, self.k_, seed, init, self.level_weight)
        # The features are prepared once: the final clusterer fits the matrix already made,
        # and the Pipeline holds both fitted steps.
        pipeline.steps[0] = ("features", prepare)
        final = pipeline.named_steps["cluster"]
        clusters = np.asarray(final.fit_predict(z_all))
        if observed is not None and isinstance(final, KMeans):
            clusters, final.cluster_centers_ = partial_kmeans(
                z_all, observed, final.cluster_centers_
            )
        self.persona_of_cluster_ = relabel_by_size(clusters)
        self.labels_ = np.array([self.persona_of_cluster_[int(c)] for c in clusters])
        if pattern is not None:
            self.gap_ami_ = gap_ami(self.labels_, pattern)
        self.pipeline_ = pipeline
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    @staticmethod
    def _observed(X: pd.DataFrame, rated: list[str], names: list[str]) -> np.ndarray | None:
        """Prepared matrix mask: False where a rated column was not rated (None without)."""
        if not rated:
            return None
        observed = np.ones((len(X), len(names)), dtype=bool)
        for j, name in enumerate(names):
            if name in rated:
                observed[:, j] = X[name].notna().to_numpy()
        return observed
