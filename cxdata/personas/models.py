"""Persona models in the store: saving, loading (the latest one too), renaming, staleness.
The latest model's assignments as a segment of every analysis live in
`cxdata.analysis.segments`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from cxdata.store import Store, StoreError
from cxdata.store.audit import DEFAULT_ACTOR, record

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

Assignments = pd.DataFrame | Callable[["ibis.BaseBackend"], "ir.Table"] | None
"""What `save_model` stores as the model's assignments: a frame (customer_id, persona), an
Ibis expression built on the store's backend (inserted in the engine: no customer table
crosses to Python), or None when they are written elsewhere (the lake, on Spark)."""


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


@dataclass(frozen=True)
class FittedModel:
    """What a fit produced, before it is stored: settings, feature groups, k, diagnostics,
    the explanation of k and one profile per persona."""

    settings: dict[str, Any]
    groups: dict[str, list[str]]
    k: int
    diagnostics: pd.DataFrame
    explanation: str
    profiles: list[dict[str, Any]]
    assignment: dict[str, Any] | None = None
    """The rule that assigns a customer (`assign.AssignmentRule.to_json`); None for a
    clusterer without one."""
    customers: int | None = None
    """How many customers were assigned (all of them, not only the fitted sample)."""
    recount: bool = False
    """The profiles' sizes are the fitted sample's: count the assignments instead."""


def with_sizes(profiles: list[dict[str, Any]], sizes: dict[int, int]) -> list[dict[str, Any]]:
    """The profiles with `size` and `share` of these persona sizes."""
    total = sum(sizes.values()) or 1
    return [
        p
        | {
            "size": sizes.get(p["persona"], 0),
            "share": round(sizes.get(p["persona"], 0) / total, 4),
        }
        for p in profiles
    ]


def save_model(
    store: Store, fitted: FittedModel, customers: Assignments, *, actor: str = DEFAULT_ACTOR
) -> PersonaModel:
    """Store the model, its assignments (customer_id, persona; see `Assignments`) and names
    in one transaction, with its audit row; return it as loaded back. The features column
    keeps the feature groups and the assignment rule."""
    with store.transaction() as con:
        # fetchall: a result left open would refuse the Ibis insert on this connection
        rows = con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM persona_models").fetchall()
        model_id = int(rows[0][0]) if rows else 1
        if isinstance(customers, pd.DataFrame):
            con.register("cx_assignments", customers[["customer_id", "persona"]])
            con.execute(
                "INSERT INTO persona_assignments SELECT ?, customer_id, persona "
                "FROM cx_assignments",
                [model_id],
            )
            con.unregister("cx_assignments")
        elif customers is not None:  # INSERT ... SELECT: computed and written by DuckDB
            import ibis

            backend = store.ibis_on(con)
            table = customers(backend)
            model = ibis.literal(model_id, type="int32")
            backend.insert("persona_assignments",
                           table.select(model_id=model, customer_id=table.customer_id,
                                        persona=table.persona))  # fmt: skip
        profiles = fitted.profiles
        if fitted.recount:  # sizes of every customer assigned, not of the fitted sample
            counted = con.execute(
                "SELECT persona, count(*) FROM persona_assignments WHERE model_id = ? "
                "GROUP BY persona",
                [model_id],
            ).fetchall()
            profiles = with_sizes(profiles, {int(p): int(n) for p, n in counted})
        con.execute(
            "INSERT INTO persona_models VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [
                model_id,
                json.dumps(fitted.settings),
                json.dumps({"groups": fitted.groups, "assignment": fitted.assignment}),
                fitted.k,
                fitted.diagnostics.to_json(orient="records"),
                fitted.explanation,
                json.dumps(profiles),
                fingerprint(store),
            ],
        )
        con.executemany(
            "INSERT INTO persona_names VALUES (?, ?, ?, ?)",
            [[model_id, p["persona"], p["name"], p["generated_name"]] for p in fitted.profiles],
        )
        assigned = (
            fitted.customers
            if fitted.customers is not None
            else len(customers)
            if isinstance(customers, pd.DataFrame)
            else 0
        )
        details = {"model_id": model_id, "k": fitted.k, "customers": assigned}
        method = fitted.settings.get("method")
        record(con, actor, "persona_fit", details | {"method": method})
    return load_model(store, model_id)


def stored_rule(store: Store, model_id: int) -> dict[str, Any] | None:
    """The model's assignment rule as stored (`assign.AssignmentRule.from_json` reads it);
    None for models without one (agglomerative, or fitted before rules were kept)."""
    rows = store.query_df("SELECT features FROM persona_models WHERE model_id = ?", [model_id])
    if rows.empty:
        raise StoreError(f"There is no persona model {model_id}.")
    record_ = json.loads(rows["features"].iloc[0])
    rule = record_.get("assignment") if "groups" in record_ else None
    return None if rule is None else dict(rule)


def latest_model_id(store: Store) -> int | None:
    """The newest model's id, None without one."""
    with store.ibis() as backend:
        value = backend.table("persona_models").model_id.max().to_pyarrow().as_py()
    return None if value is None else int(value)


def latest_model(store: Store) -> PersonaModel | None:
    """The newest model: what heatmaps and comparisons use unless another is chosen."""
    model_id = latest_model_id(store)
    return None if model_id is None else load_model(store, model_id)


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
        taken = con.execute(
            "SELECT persona FROM persona_names WHERE model_id = ? AND persona <> ? "
            "AND lower(name) = lower(?)",
            [model_id, persona, name],
        ).fetchone()
        if taken:
            raise StoreError(
                f"Persona {taken[0]} is already called “{name}”: two personas with one name "
                "could not be told apart. Choose another name."
            )
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
