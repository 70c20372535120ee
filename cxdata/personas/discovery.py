"""Finding personas: features in the engine, the persona finder (scikit-learn), profiles
a person recognises, all stored with the model that made them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cxdata.analysis.filters import NO_FILTERS, Filters, bound_values
from cxdata.engine import Engine
from cxdata.personas.assign import AssignmentRule, assignment_rule, assignment_table
from cxdata.personas.estimator import (
    PersonaFinder,
    PersonaSettings,
    PersonaSettingsError,
    Progress,
)
from cxdata.personas.features import FeaturePlan, Features, customer_features, feature_plan
from cxdata.personas.gaps import gap_ami, gap_pattern
from cxdata.personas.models import Assignments, FittedModel, PersonaModel, save_model
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
    `engine`: where the features are computed and the customers assigned (default: the
    store itself; Spark reads the lake, which must be in sync with the store).

    The model is fitted on at most `settings.fit_customers` customers (a seeded sample drawn
    in the engine; below the bound, everyone). Every customer is then assigned in the
    engine by the fitted rule (`assign`): on DuckDB the assignments are inserted into the
    store by one INSERT ... SELECT, on Spark written into the lake
    (`SparkEngine.write_persona_assignments`); no customer table crosses to Python. The
    profiles describe the fitted customers; their sizes count every customer."""
    settings = settings or PersonaSettings()
    attributes = None if settings.attributes is None else list(settings.attributes)
    source: Engine = store if engine is None else engine
    plan = feature_plan(source, attributes, filters, settings.gaps)
    features = customer_features(source, plan=plan, limit=settings.fit_customers,
                                 seed=settings.seed)  # fmt: skip
    customers = features.customers or len(features.frame)
    if customers < max(settings.k_range[1], settings.k or 0) * 5:
        raise StoreError(f"Too few customers ({customers}) to look for personas.")
    if features.sampled and settings.method == "agglomerative":
        raise PersonaSettingsError(
            f"agglomerative clustering cannot place customers it was not fitted on, and "
            f"only {len(features.frame):,} of the {customers:,} are fitted: use kmeans or gmm"
        )
    finder = settings.finder().set_params(gap_columns=tuple(features.groups["rated"]))
    finder.fit(features.frame[features.model_columns], progress=progress)
    rule = assignment_rule(finder, features.scaling)
    write = getattr(source, "write_persona_assignments", None)
    # The sizes of a sample fit count every customer: the store counts what it inserted; on
    # Spark the assignment is counted first (its rows are written after the model).
    recount = features.sampled and rule is not None
    sizes = _assigned_sizes(source, plan, rule) if recount and write and rule else None
    outcomes = _outcomes(source, features.frame.index if features.sampled else None)
    profiles = _profiles(features, finder, outcomes, sizes)
    gaps = gap_explanation(features, finder.labels_, settings.method)
    explanation = f"{finder.explanation_} {gaps}{_sample_sentence(features)}"
    fitted = FittedModel(dataclasses.asdict(settings), features.groups, finder.k_,
                         finder.diagnostics_, explanation, profiles,
                         None if rule is None else rule.to_json(), customers,
                         recount and write is None)  # fmt: skip
    labels = pd.DataFrame({"customer_id": features.frame.index, "persona": finder.labels_})
    assigned: Assignments = labels if rule is None else _assigner(plan, rule)
    if write is None:  # the store (DuckDB): assignments inserted with the model
        return save_model(store, fitted, assigned, actor=actor)
    model = save_model(store, fitted, None, actor=actor)
    if progress:
        progress(0.95, f"Writing the personas of {customers:,} customers")
    write(model.model_id, (lambda backend: ibis.memtable(labels)) if rule is None else assigned)
    return model


def _assigner(plan: FeaturePlan, rule: AssignmentRule) -> Callable[[ibis.BaseBackend], ir.Table]:
    """customer_id, persona of every customer with features, on any backend."""
    return lambda backend: assignment_table(plan.table(backend), rule)


def _assigned_sizes(engine: Engine, plan: FeaturePlan, rule: AssignmentRule) -> dict[int, int]:
    """Persona -> customers the engine assigns to it (all of them, not the sample)."""
    with engine.ibis() as backend:
        assigned = assignment_table(plan.table(backend), rule)
        counts = assigned.group_by("persona").aggregate(n=assigned.count()).to_pandas()
    return {int(p): int(n) for p, n in zip(counts["persona"], counts["n"], strict=True)}


def _sample_sentence(features: Features) -> str:
    if not features.sampled:
        return ""
    return (
        f" Fitted on a seeded sample of {len(features.frame):,} of the "
        f"{features.customers:,} customers (at most {len(features.frame):,} are fitted); "
        "every customer was then assigned to the nearest persona in the engine: sizes count "
        "all of them, the descriptions are those of the sample."
    )


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


def _outcomes(engine: Engine, customers: pd.Index | None = None) -> pd.DataFrame:
    """customer_id, name, number of every outcome answer (for the personas' outcome rates);
    `customers`: only theirs (the fitted sample)."""
    with engine.ibis() as backend:
        attrs = backend.table("customer_attributes")
        answers = attrs.filter(attrs.kind == "outcome")
        if customers is not None:
            ids = bound_values(("customer_id",), [(str(c),) for c in customers])
            answers = answers.filter(answers.customer_id.isin(ids.customer_id))
        return answers.select("customer_id", "name", "number").to_pandas()


def _profiles(
    features: Features,
    finder: PersonaFinder,
    outcomes: pd.DataFrame,
    sizes: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """One profile per persona; `sizes`: the customers assigned to each in the engine (when
    the fit saw a sample), else those fitted."""
    index, labels = features.frame.index, finder.labels_
    personas = range(1, finder.k_ + 1)
    if sizes is None:
        sizes = {p: int((labels == p).sum()) for p in personas}
    total = sum(sizes.values()) or 1
    names = unique_names([generated_name(features, labels, p) for p in personas])
    return [
        {
            "persona": p,
            "name": name,
            "generated_name": name,
            "size": sizes.get(p, 0),
            "share": round(sizes.get(p, 0) / total, 4),
            "distinguishing": distinguishing(features, labels, p),
            "relative": relative_stages(features, labels, p),
            "typical": typical(features, labels, p),
            "outcomes": outcome_rates(outcomes, index[labels == p]),
        }
        for p, name in zip(personas, names, strict=True)
    ]
