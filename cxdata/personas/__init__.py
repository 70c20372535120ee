"""Data-driven personas: features in the engine, a scikit-learn Pipeline, reproducible
model selection, recognisable profiles, stored with the model that made them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cxdata.audit import DEFAULT_ACTOR, record
from cxdata.filters import NO_FILTERS, Filters
from cxdata.personas.features import customer_features
from cxdata.personas.model import Fit, PersonaSettings, Progress, fit_personas
from cxdata.personas.profiles import (
    distinguishing,
    generated_name,
    outcome_rates,
    typical,
    unique_names,
)
from cxdata.store import Store, StoreError

__all__ = ["PersonaModel", "PersonaSettings", "discover", "latest_model", "load_model",
           "rename", "is_stale"]  # fmt: skip


@dataclass
class PersonaModel:
    """A stored persona model with its diagnostics and one profile per persona."""

    model_id: int
    k: int
    settings: dict[str, Any]
    diagnostics: pd.DataFrame
    explanation: str
    profiles: list[dict[str, Any]]
    created_at: Any = None

    def to_json(self) -> dict[str, Any]:
        """The CLI contract: model_id, k, diagnostics [{k, silhouette, stability}], personas."""
        return {
            "model_id": self.model_id,
            "k": self.k,
            "explanation": self.explanation,
            "diagnostics": self.diagnostics.round(4).to_dict("records"),
            "personas": self.profiles,
        }


def fingerprint(store: Store) -> str:
    """Identifies the data a model was fitted on: every batch's content hash."""
    shas = store.query_df("SELECT batch_id, sha256 FROM batches ORDER BY batch_id")
    text = ";".join(f"{b}:{s}" for b, s in zip(shas["batch_id"], shas["sha256"], strict=True))
    return hashlib.sha256(text.encode()).hexdigest()


def discover(
    store: Store,
    settings: PersonaSettings | None = None,
    filters: Filters = NO_FILTERS,
    progress: Progress | None = None,
    *,
    actor: str = DEFAULT_ACTOR,
) -> PersonaModel:
    """Fit personas on the store's customers, store model and assignments, return it."""
    settings = settings or PersonaSettings()
    attributes = None if settings.attributes is None else list(settings.attributes)
    features = customer_features(store, attributes, filters)
    if len(features.frame) < max(settings.k_range[1], settings.k or 0) * 5:
        raise StoreError(f"Too few customers ({len(features.frame)}) to look for personas.")
    fit = fit_personas(features.frame, features.groups, settings, progress)
    customers = list(features.frame.index)
    outcomes = store.query_df(
        "SELECT customer_id, name, number FROM customer_attributes WHERE kind = 'outcome'"
    )
    profiles = _profiles(features, fit, outcomes)
    return _save(store, settings, features.groups, fit, profiles, customers, actor)


def _profiles(features: Any, fit: Fit, outcomes: pd.DataFrame) -> list[dict[str, Any]]:
    index = features.frame.index
    personas = range(1, fit.k + 1)
    names = unique_names([generated_name(features, fit.labels, p) for p in personas])
    return [
        {
            "persona": p,
            "name": name,
            "generated_name": name,
            "size": int((fit.labels == p).sum()),
            "share": round(float((fit.labels == p).mean()), 4),
            "distinguishing": distinguishing(features, fit.labels, p),
            "typical": typical(features, fit.labels, p),
            "outcomes": outcome_rates(outcomes, index[fit.labels == p]),
        }
        for p, name in zip(personas, names, strict=True)
    ]


def _save(
    store: Store,
    settings: PersonaSettings,
    groups: dict[str, list[str]],
    fit: Fit,
    profiles: list[dict[str, Any]],
    customers: list[str],
    actor: str,
) -> PersonaModel:
    with store.transaction() as con:
        row = con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM persona_models").fetchone()
        model_id = int(row[0]) if row else 1
        con.execute(
            "INSERT INTO persona_models VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [
                model_id,
                json.dumps(dataclasses.asdict(settings)),
                json.dumps(groups),
                fit.k,
                fit.diagnostics.to_json(orient="records"),
                fit.explanation,
                json.dumps(profiles),
                fingerprint(store),
            ],
        )
        frame = pd.DataFrame({"customer_id": customers, "persona": fit.labels})
        con.register("cx_assignments", frame)
        con.execute(
            "INSERT INTO persona_assignments SELECT ?, customer_id, persona FROM cx_assignments",
            [model_id],
        )
        con.unregister("cx_assignments")
        con.executemany(
            "INSERT INTO persona_names VALUES (?, ?, ?, ?)",
            [[model_id, p["persona"], p["name"], p["generated_name"]] for p in profiles],
        )
        details = {"model_id": model_id, "k": fit.k, "customers": len(customers)}
        record(con, actor, "persona_fit", details | {"method": settings.method})
    return load_model(store, model_id)


def latest_model(store: Store) -> PersonaModel | None:
    """The newest model: what heatmaps and comparisons use unless another is chosen."""
    ids = store.query_df("SELECT max(model_id) AS m FROM persona_models")["m"]
    return None if ids.isna().all() else load_model(store, int(ids.iloc[0]))


def load_model(store: Store, model_id: int) -> PersonaModel:
    rows = store.query_df("SELECT * FROM persona_models WHERE model_id = ?", [model_id])
    if rows.empty:
        raise StoreError(f"There is no persona model {model_id}.")
    row = rows.iloc[0]
    names = store.query_df(
        "SELECT persona, name FROM persona_names WHERE model_id = ?", [model_id]
    ).set_index("persona")["name"]
    profiles = json.loads(row["profiles"])
    for profile in profiles:
        profile["name"] = str(names.get(profile["persona"], profile["name"]))
    return PersonaModel(
        model_id,
        int(row["k"]),
        json.loads(row["settings"]),
        pd.DataFrame(json.loads(row["diagnostics"])),
        str(row["explanation"]),
        profiles,
        row["created_at"],
    )


def rename(
    store: Store, model_id: int, persona: int, name: str, *, actor: str = DEFAULT_ACTOR
) -> None:
    """Give a persona a name people use; kept with the model."""
    name = name.strip()
    if not name:
        raise StoreError("A persona name cannot be empty.")
    with store.transaction() as con:
        found = con.execute(
            "SELECT count(*) FROM persona_names WHERE model_id = ? AND persona = ?",
            [model_id, persona],
        ).fetchone()
        if not found or not found[0]:
            raise StoreError(f"Model {model_id} has no persona {persona}.")
        con.execute(
            "UPDATE persona_names SET name = ? WHERE model_id = ? AND persona = ?",
            [name, model_id, persona],
        )
        record(con, actor, "persona_rename",
               {"model_id": model_id, "persona": persona, "name": name})  # fmt: skip


def is_stale(store: Store, model: PersonaModel) -> bool:
    """True when batches were added or removed since the model was fitted."""
    row = store.query_df("SELECT fingerprint FROM persona_models WHERE model_id = ?",
                         [model.model_id])  # fmt: skip
    return bool(row["fingerprint"].iloc[0] != fingerprint(store))
