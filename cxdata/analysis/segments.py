"""Customer-level segments: the latest persona model (the one home of "the latest persona
model" for every analysis, page and report) and customer attribute values."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def latest_names(backend: ibis.BaseBackend) -> ir.Table:
    """persona (number) and name of the newest model: what heatmaps, comparisons and
    pickers use."""
    models, names = backend.table("persona_models"), backend.table("persona_names")
    latest = names.filter(names.model_id == models.model_id.max().as_scalar())
    return latest.select("persona", "name")


def latest_assignments(backend: ibis.BaseBackend) -> ir.Table:
    """customer_id, persona and name of every customer the newest model assigned."""
    models, assigned = backend.table("persona_models"), backend.table("persona_assignments")
    mine = assigned.filter(assigned.model_id == models.model_id.max().as_scalar())
    names = latest_names(backend)
    return mine.inner_join(names, mine.persona == names.persona).select(
        mine.customer_id, mine.persona, names.name
    )


def customer_values(backend: ibis.BaseBackend, name: str) -> ir.Table:
    """`_cid` and a column `name`: each customer's persona (latest model) or attribute value."""
    if name == "persona":
        latest = latest_assignments(backend)
        return latest.select(_cid=latest.customer_id, persona=latest.name)
    attrs = backend.table("customer_attributes")
    return (
        attrs.filter(attrs.name == name)
        .select(_cid=attrs.customer_id, **{name: attrs.value})
        .distinct()
    )
