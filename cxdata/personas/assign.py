"""Every customer assigned to a persona in the engine, so no customer table is collected.

The persona finder is fitted on at most `features.MAX_FIT_CUSTOMERS` customers. What it
learned is a handful of numbers: how each feature is standardised, imputed and weighted
(the fitted ColumnTransformer) and where the personas' centres are. `AssignmentRule` keeps
them (stored with the model); `assignment_table` applies them to the per-customer feature
table as Ibis column arithmetic, and takes the nearest centre, so DuckDB or Spark assigns a
billion customers exactly as `PersonaFinder` would (`predict` of the fitted pipeline; with
unrated gaps, the partial distances of `partial.partial_kmeans`).

- k-means: the nearest centre by squared Euclidean distance, ties to the lower cluster
  number (numpy's argmin, as scikit-learn's predict), then the cluster's persona number.
- Gaussian mixture (spherical): the component of highest weighted log density, as its
  `predict`.
- agglomerative (Ward) clustering has no rule for a new customer: it is fitted on every
  customer (at most `estimator.MAX_AGGLOMERATIVE`, fewer than the bound), and its labels are
  the assignments.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from cxdata.personas.estimator import LEVEL, PersonaFinder

OUTPUT_KINDS = ("number", "indicator", "level", "rated", "onehot")


@dataclass(frozen=True)
class Output:
    """One column the fitted features step puts out: `kind` (OUTPUT_KINDS) of the raw
    feature `column`; numbers are (x - mean) / scale * weight, 0 when missing; an
    indicator is 1 when `column` is missing; a one-hot column is 1 when the value (missing:
    `fill`, the most frequent) equals `value`."""

    kind: str
    column: str
    mean: float = 0.0
    scale: float = 1.0
    weight: float = 1.0
    value: str = ""
    fill: str = ""


@dataclass(frozen=True)
class AssignmentRule:
    """What assigns a customer: the outputs of the features step, the centres (k-means) or
    components (spherical Gaussian mixture) in cluster order, the persona of each cluster,
    and for rated stages the mean and sd that standardise them for level and shape."""

    method: str
    outputs: list[Output]
    centres: list[list[float]]
    persona_of_cluster: dict[int, int]
    partial: bool = False
    """k-means on partly unrated data: distances over the values a customer gave."""
    scaling: dict[str, tuple[float, float]] = field(default_factory=dict)
    log_weights: list[float] = field(default_factory=list)
    precisions_cholesky: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["persona_of_cluster"] = {str(k): v for k, v in self.persona_of_cluster.items()}
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> AssignmentRule:
        return cls(
            method=str(record["method"]),
            outputs=[Output(**o) for o in record["outputs"]],
            centres=[[float(v) for v in row] for row in record["centres"]],
            persona_of_cluster={int(k): int(v) for k, v in record["persona_of_cluster"].items()},
            partial=bool(record.get("partial", False)),
            scaling={str(k): (float(v[0]), float(v[1])) for k, v in record["scaling"].items()},
            log_weights=[float(v) for v in record.get("log_weights", [])],
            precisions_cholesky=[float(v) for v in record.get("precisions_cholesky", [])],
        )


def assignment_rule(
    finder: PersonaFinder, scaling: dict[str, tuple[float, float]]
) -> AssignmentRule | None:
    """The rule of a fitted finder (`scaling`: `Features.scaling`); None for agglomerative
    clustering, which has none."""
    cluster = finder.pipeline_.named_steps["cluster"]
    if not isinstance(cluster, KMeans | GaussianMixture):
        return None
    columns = finder.pipeline_.named_steps["features"]
    weights = columns.transformer_weights or {}
    outputs: list[Output] = []
    for name, step, selected in columns.transformers_:
        if name == "remainder" or isinstance(step, str) or not len(selected):
            continue
        if name == "level":
            weight = float(weights.get("level", 1.0))
            outputs.append(Output("level", LEVEL, *_scaled(step, 0), weight=weight))
        elif name in ("num", "rated"):
            scaler, imputer = step.named_steps["scale"], step.named_steps["impute"]
            kind = "number" if name == "num" else "rated"
            outputs += [Output(kind, c, *_scaled(scaler, i)) for i, c in enumerate(selected)]
            if imputer.indicator_ is not None:
                outputs += [Output("indicator", selected[j]) for j in imputer.indicator_.features_]
        elif name == "cat":
            imputer, onehot = step.named_steps["impute"], step.named_steps["onehot"]
            for i, column in enumerate(selected):
                fill = str(imputer.statistics_[i])
                outputs += [
                    Output("onehot", column, value=str(v), fill=fill) for v in onehot.categories_[i]
                ]
    names = list(columns.get_feature_names_out())
    if len(names) != len(outputs):  # a step this module does not know: refuse, never guess
        raise ValueError(f"cannot express the features step in the engine: {names}")
    centres = cluster.cluster_centers_ if isinstance(cluster, KMeans) else cluster.means_
    rule = AssignmentRule(
        method=finder.method,
        outputs=outputs,
        centres=np.asarray(centres, dtype=float).tolist(),
        persona_of_cluster={int(k): int(v) for k, v in finder.persona_of_cluster_.items()},
        partial=isinstance(cluster, KMeans) and any(o.kind == "rated" for o in outputs),
        scaling=dict(scaling),
    )
    return _with_mixture(rule, cluster) if isinstance(cluster, GaussianMixture) else rule


def _with_mixture(rule: AssignmentRule, mixture: GaussianMixture) -> AssignmentRule:
    return AssignmentRule(
        rule.method,
        rule.outputs,
        rule.centres,
        rule.persona_of_cluster,
        False,
        rule.scaling,
        np.log(mixture.weights_).tolist(),
        np.asarray(mixture.precisions_cholesky_, dtype=float).tolist(),
    )


def _scaled(scaler: Any, i: int) -> tuple[float, float]:
    return float(scaler.mean_[i]), float(scaler.scale_[i])


def _number(value: ir.Value) -> ir.FloatingValue:
    return value.cast("float64")


def with_level_and_shape(table: ir.Table, scaling: dict[str, tuple[float, float]]) -> ir.Table:
    """`level` and `shape__Stage` of every customer (`features.level_and_shape` with the
    fitted means and sds): the mean of their standardised ratings, and each rating minus it."""
    if not scaling:
        return table
    z = {c: (_number(table[c]) - mean) / sd for c, (mean, sd) in scaling.items()}
    filled = [v.fill_null(0.0) for v in z.values()]
    total = sum(filled[1:], filled[0])
    given = sum((v.notnull().cast("int64") for v in z.values()), ibis.literal(0))
    level = ibis.ifelse(given > 0, total / given.cast("float64"), ibis.null("float64"))
    keyed = table.mutate(**{f"_z{i}": v for i, v in enumerate(z.values())}, level=level)
    shapes = {
        c.replace("score", "shape", 1): keyed[f"_z{i}"] - keyed.level for i, c in enumerate(z)
    }
    return keyed.mutate(**shapes).drop(*[f"_z{i}" for i in range(len(z))])


def output_columns(table: ir.Table, rule: AssignmentRule) -> ir.Table:
    """customer_id and `_f0`, `_f1`...: the features step's output for every customer (what
    `pipeline_.named_steps["features"].transform` gives), plus `_given`, the number of
    outputs a customer has a value for, and per rated output `_o{j}`, whether the customer
    gave that rating (partial distances)."""
    t = with_level_and_shape(table, rule.scaling)
    values: dict[str, ir.Value] = {}
    given: ir.IntegerValue = ibis.literal(0)
    for j, o in enumerate(rule.outputs):
        x = t[o.column]
        # 0/1 as a cast of a condition: a literal 1.0 would be a DECIMAL in SQL (DuckDB and
        # Spark both), and its arithmetic slow and rounded to a fixed scale
        if o.kind == "indicator":
            values[f"_f{j}"] = x.isnull().cast("float64")
        elif o.kind == "onehot":
            values[f"_f{j}"] = (x.fill_null(o.fill) == o.value).cast("float64")
        elif not (math.isfinite(o.mean) and math.isfinite(o.scale)):
            values[f"_f{j}"] = ibis.null("float64").fill_null(0.0)  # no value when fitted
        else:
            scaled = (_number(x) - o.mean) / o.scale
            values[f"_f{j}"] = (scaled * o.weight if o.weight != 1.0 else scaled).fill_null(0.0)
        if o.kind == "rated":
            values[f"_o{j}"] = x.notnull()
            given = given + x.notnull().cast("int64")
        else:
            given = given + 1
    return t.select("customer_id", _given=given, **values)


def assignment_table(table: ir.Table, rule: AssignmentRule) -> ir.Table:
    """customer_id and persona (int32) of every customer of the per-customer feature table
    (`features.FeaturePlan.table`), by the fitted rule."""
    out = output_columns(table, rule)
    f = [out[f"_f{j}"] for j in range(len(rule.outputs))]
    observed = {j: out[f"_o{j}"] for j, o in enumerate(rule.outputs) if o.kind == "rated"}
    distances = {}
    for k, centre in enumerate(rule.centres):
        terms = []
        for j, value in enumerate(f):
            diff = value - centre[j]
            term = diff * diff
            if rule.partial and j in observed:
                term = ibis.ifelse(observed[j], term, 0.0)
            terms.append(term)
        squared = sum(terms[1:], terms[0])
        if rule.partial:
            squared = squared * (len(f) / ibis.greatest(out._given, 1).cast("float64"))
        if rule.method == "gmm":
            prec_chol = rule.precisions_cholesky[k]
            log_density = -0.5 * (len(f) * math.log(2 * math.pi) + squared * prec_chol**2)
            score = log_density + len(f) * math.log(prec_chol) + rule.log_weights[k]
            squared = -score  # the highest weighted density is the lowest of its negative
        distances[f"_d{k}"] = squared
    scored = out.select("customer_id", **distances)
    d = [scored[f"_d{k}"] for k in range(len(rule.centres))]
    nearest = ibis.least(*d) if len(d) > 1 else d[0]
    persona = ibis.cases(
        *[(d[k] == nearest, rule.persona_of_cluster[k]) for k in range(len(d))],
        else_=ibis.null("int32"),
    )
    return scored.select(customer_id=scored.customer_id.cast("string"),
                         persona=persona.cast("int32"))  # fmt: skip
