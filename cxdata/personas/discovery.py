"""Finding personas: features in the engine, the persona finder (scikit-learn), profiles
a person recognises, all stored with the model that made them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters
from cxdata.engine import Engine
from cxdata.personas.estimator import PersonaFinder, PersonaSettings, Progress
from cxdata.personas.features import Features, customer_features
from cxdata.personas.models import FittedModel, PersonaModel, save_model
from cxdata.personas.profiles import (
    distinguishing,
    generated_name,
    outcome_rates,
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
    features = customer_features(source, attributes, filters)
    if len(features.frame) < max(settings.k_range[1], settings.k or 0) * 5:
        raise StoreError(f"Too few customers ({len(features.frame)}) to look for personas.")
    finder = settings.finder().fit(features.frame, progress=progress)
    outcomes = _outcomes(source)
    profiles = _profiles(features, finder, outcomes)
    customers = pd.DataFrame({"customer_id": features.frame.index, "persona": finder.labels_})
    fitted = FittedModel(dataclasses.asdict(settings), features.groups, finder.k_,
                         finder.diagnostics_, finder.explanation_, profiles)  # fmt: skip
    return save_model(store, fitted, customers, actor=actor)


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
            "typical": typical(features, labels, p),
            "outcomes": outcome_rates(outcomes, index[labels == p]),
        }
        for p, name in zip(personas, names, strict=True)
    ]
