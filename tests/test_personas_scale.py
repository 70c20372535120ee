"""Personas at scale: fitted on a bounded seeded sample, every customer assigned in the
engine by the fitted rule, exactly as scikit-learn assigns, and no customer table pulled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ibis.expr.types import Table
from sklearn.metrics import adjusted_rand_score

from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.ingest.mapping import load_mapping
from cxdata.personas.assign import AssignmentRule, assignment_table, output_columns
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaSettings, PersonaSettingsError
from cxdata.personas.features import customer_features, feature_plan
from cxdata.personas.models import stored_rule
from cxdata.sample import SAMPLE_DIR, TRUTH_FILE
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.survey_personas import survey, with_gaps, write_survey


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    store = Store.open(Settings(), tmp_path_factory.mktemp("scale") / "p.duckdb")
    load_sample(store)
    return store


@pytest.fixture(scope="module")
def gapped_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale_survey")
    csv, mapping = write_survey(folder, with_gaps(survey(n=2000, seed=1).ratings, seed=2))
    store = Store.open(Settings(), folder / "db.duckdb")
    ingest_file(store, csv, mapping=load_mapping(mapping))
    return store


def _stored(store, model_id) -> pd.Series:
    return store.query_df(
        "SELECT customer_id, persona FROM persona_assignments WHERE model_id = ?", [model_id]
    ).set_index("customer_id")["persona"]


def _in_engine(store, plan, rule) -> pd.Series:
    with store.ibis() as backend:
        assigned = assignment_table(plan.table(backend), rule).to_pandas()
    return assigned.set_index("customer_id")["persona"]


def _fit(store, settings):
    plan = feature_plan(store, None, gaps=settings.gaps)
    features = customer_features(store, plan=plan)
    finder = settings.finder().set_params(gap_columns=tuple(features.groups["rated"]))
    X = features.frame[features.model_columns]
    return plan, features, finder.fit(X), X


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_the_engine_assigns_as_scikit_learn_predicts(sample_store, method):
    settings = PersonaSettings(k=5, method=method, bootstraps=2)
    model = discover(sample_store, settings)
    plan, features, finder, X = _fit(sample_store, settings)
    rule = AssignmentRule.from_json(stored_rule(sample_store, model.model_id) or {})
    with sample_store.ibis() as backend:
        outputs = output_columns(plan.table(backend), rule).to_pandas().set_index("customer_id")
    prepared = finder.pipeline_.named_steps["features"].transform(X)
    got = outputs.loc[X.index, [f"_f{j}" for j in range(len(rule.outputs))]].to_numpy()
    np.testing.assert_allclose(got, prepared.to_numpy(), rtol=1e-12, atol=1e-12)
    clusters = finder.pipeline_.named_steps["cluster"].predict(prepared.to_numpy())
    predicted = np.array([finder.persona_of_cluster_[int(c)] for c in clusters])
    assigned = _in_engine(sample_store, plan, rule).loc[X.index]
    assert len(assigned) == 2400
    assert (assigned.to_numpy() == predicted).all()
    assert (assigned.to_numpy() == finder.labels_).all()
    # what discover stored is that assignment, computed and inserted by DuckDB
    assert _stored(sample_store, model.model_id).loc[X.index].tolist() == predicted.tolist()
    sizes = pd.Series(predicted).value_counts()
    assert [p["size"] for p in model.profiles] == [int(sizes[p]) for p in range(1, 6)]


def test_partial_distances_on_unrated_gaps_are_reproduced(gapped_store):
    model = discover(gapped_store, PersonaSettings(k=4, bootstraps=2))
    assert model.settings["gaps"] == "auto" and "Not rated is no feature" in model.explanation
    plan, features, finder, X = _fit(gapped_store, PersonaSettings(k=4, bootstraps=2))
    rule = AssignmentRule.from_json(stored_rule(gapped_store, model.model_id) or {})
    assert rule.partial and rule.scaling.keys() == set(plan.rated())
    assert X.isna().to_numpy().any()  # there are gaps to ignore
    assigned = _in_engine(gapped_store, plan, rule).loc[X.index]
    assert (assigned.to_numpy() == finder.labels_).all()
    assert (_stored(gapped_store, model.model_id).loc[X.index] == finder.labels_).all()


def test_a_bounded_sample_fits_and_every_customer_is_assigned(sample_store, monkeypatch):
    pulled: list[int] = []
    to_pandas = Table.to_pandas

    def counting(self, *args, **kwargs):
        df = to_pandas(self, *args, **kwargs)
        if "customer_id" in df.columns:
            pulled.append(df["customer_id"].nunique())
        return df

    monkeypatch.setattr(Table, "to_pandas", counting)
    model = discover(sample_store, PersonaSettings(k=5, bootstraps=2, fit_customers=1000))
    monkeypatch.undo()
    assert pulled and max(pulled) <= 1001  # the sample (and the one row that says "more")
    assert "seeded sample of 1,000 of the 2,400 customers" in model.explanation
    assigned = _stored(sample_store, model.model_id)
    assert len(assigned) == 2400 and assigned.index.is_unique
    counts = assigned.value_counts()
    assert [p["size"] for p in model.profiles] == [int(counts[p]) for p in range(1, 6)]
    assert sum(p["share"] for p in model.profiles) == pytest.approx(1.0, abs=1e-3)
    truth = pd.read_csv(SAMPLE_DIR / TRUTH_FILE).set_index("customer_id")["persona"]
    assert adjusted_rand_score(truth.loc[assigned.index], assigned) >= 0.9
    # the same seed draws the same customers; another seed others
    first = customer_features(sample_store, limit=1000, seed=0)
    assert first.sampled and first.customers == 2400 and len(first.frame) == 1000
    assert first.frame.index.equals(customer_features(sample_store, limit=1000).frame.index)
    other = customer_features(sample_store, limit=1000, seed=1).frame.index
    assert not first.frame.index.equals(other)


def test_agglomerative_refuses_a_sample(sample_store):
    with pytest.raises(PersonaSettingsError, match="cannot place customers"):
        discover(sample_store, PersonaSettings(k=5, method="agglomerative", fit_customers=500))


def test_the_app_s_sandboxed_store_inserts_the_assignments(sample_store):
    """The app's store is sandboxed; the INSERT ... SELECT runs there too, with filters."""
    from cxdata.analysis.filters import Filters

    app_store = Store.open(Settings(), sample_store.path, sandbox=())
    web = Filters.build({"channel": ["web"]}, {"loyalty_tier": ["Gold", "Silver"]})
    model = discover(app_store, PersonaSettings(k=3, bootstraps=2, fit_customers=300), web)
    assigned = _stored(app_store, model.model_id)
    assert 300 < len(assigned) < 2400 and sum(p["size"] for p in model.profiles) == len(assigned)
