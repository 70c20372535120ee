"""Finding personas: features in the engine, the persona finder (scikit-learn), profiles
a person recognises, all stored with the model that made them."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters
from cxdata.engine import Engine
from cxdata.personas.estimator import PersonaFinder, PersonaSettings, Progress
from cxdata.personas.features import Features, customer_features
from cxdata.personas.gaps import gap_ami, gap_pattern
from cxdata.personas.models import FittedModel, PersonaModel, save_model
from cxdata.personas.profiles import (
    distinguishing,
    generated_name,
    outcome_rates,
    relative_stages,
    typical,
    unique_names,
)
from cxdata.store import Store, StoreError
from cxdata.store.audit import DEFAULT_ACTOR


def discover(
    store: Store,
    settings: PersonaSettings | None = None,
    filters: Filters = NO_FILTERS,
    progress: Progress | None = None,
    *,
    actor: str = DEFAULT_ACTOR,
    engine: Engine | None = None,
) -> PersonaModel:
    """Fit personas on the store's customers, store model and assignments, return it.
    `engine`: where the features are computed (default: the store itself; Spark reads the
    lake, which must be in sync with the store)."""
    settings = settings or PersonaSettings()
    attributes = None if settings.attributes is None else list(settings.attributes)
    source: Engine = store if engine is None else engine
    features = customer_features(source, attributes, filters, settings.gaps)
    if len(features.frame) < max(settings.k_range[1], settings.k or 0) * 5:
        raise StoreError(f"Too few customers ({len(features.frame)}) to look for personas.")
    finder = settings.finder().set_params(gap_columns=tuple(features.groups["rated"]))
    finder.fit(features.frame[features.model_columns], progress=progress)
    outcomes = _outcomes(source)
    profiles = _profiles(features, finder, outcomes)
    customers = pd.DataFrame({"customer_id": features.frame.index, "persona": finder.labels_})
    gaps = gap_explanation(features, finder.labels_, settings.method)
    explanation = f"{finder.explanation_} {gaps}"
    fitted = FittedModel(dataclasses.asdict(settings), features.groups, finder.k_,
                         finder.diagnostics_, explanation, profiles)  # fmt: skip
    return save_model(store, fitted, customers, actor=actor)


GAP_WEIGHT = {
    True: "k-means places each customer by the ratings they gave, so a gap weighs nothing",
    False: "a missing rating counts as the customer's own level",
}


def _shown(ami: float) -> str:
    """AMI to two places; chance can make it a hair below 0, which reads "0.00", not "-0.00"."""
    return f"{round(ami, 2) + 0.0:.2f}"


def gap_explanation(features: Features, labels: np.ndarray, method: str = "kmeans") -> str:
    """The gap rule as applied, and how much the personas follow the gaps (adjusted mutual
    information with the pattern of present stages: 0 = unrelated, 1 = the same)."""
    rated, observed = (
        features.rated_stages,
        [s for s, rule in features.gaps.items() if rule != "not_rated"],
    )
    sentences = []
    if rated:
        ami = gap_ami(labels, gap_pattern(features.frame, features.groups["rated"]))
        sentences.append(
            f"Not rated is no feature ({len(rated)} rated stages: {', '.join(rated)}): each "
            "customer's overall level is one feature and their rating at each stage relative "
            f"to it the others; {GAP_WEIGHT[method == 'kmeans']}. Personas and the "
            f"pattern of rated stages share {_shown(ami)} adjusted mutual information (0 = "
            "unrelated)."
        )
    if observed:
        columns = [
            c for c, (kind, s) in features.source.items() if kind == "score" and s in observed
        ]
        ami = gap_ami(labels, gap_pattern(features.frame, columns))
        sentences.append(
            f"A stage not observed is behaviour ({len(observed)} observed stages): whether and "
            "how often a customer went through it is a feature. Personas and the pattern of "
            f"stages gone through share {_shown(ami)} adjusted mutual information (0 = "
            "unrelated)."
        )
    return " ".join(sentences)


def _outcomes(engine: Engine) -> pd.DataFrame:
    """customer_id, name, number of every outcome answer (for the personas' outcome rates)."""
    with engine.ibis() as backend:
        attrs = backend.table("customer_attributes")
        answers = attrs.filter(attrs.kind == "outcome")
        return answers.select("customer_id", "name", "number").to_pandas()


def _profiles(
    features: Features, finder: PersonaFinder, outcomes: pd.DataFrame
) -> list[dict[str, Any]]:
    index, labels = features.frame.index, finder.labels_
    personas = range(1, finder.k_ + 1)
    names = unique_names([generated_name(features, labels, p) for p in personas])
    return [
        {
            "persona": p,
            "name": name,
            "generated_name": name,
            "size": int((labels == p).sum()),
            "share": round(float((labels == p).mean()), 4),
            "distinguishing": distinguishing(features, labels, p),
            "relative": relative_stages(features, labels, p),
            "typical": typical(features, labels, p),
            "outcomes": outcome_rates(outcomes, index[labels == p]),
        }
        for p, name in zip(personas, names, strict=True)
    ]
