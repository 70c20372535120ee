"""Personas: the planted ones are recovered, reproducibly, and described by what was planted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from cxdata.cli import main
from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.personas.discovery import discover
from cxdata.personas.estimator import PersonaFinder, PersonaSettings, make_pipeline
from cxdata.personas.features import customer_features
from cxdata.personas.models import is_stale, latest_model, rename
from cxdata.sample import PERSONAS, SAMPLE_DIR, TRUTH_FILE
from cxdata.sample.load import load_sample
from cxdata.store import Store, StoreError


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    store = Store.open(Settings(), tmp_path_factory.mktemp("personas") / "p.duckdb")
    load_sample(store)
    return store


@pytest.fixture(scope="module")
def model(sample_store):
    return discover(sample_store)


def _assignments(store, model_id):
    return store.query_df(
        "SELECT customer_id, persona FROM persona_assignments WHERE model_id = ? "
        "ORDER BY customer_id",
        [model_id],
    ).set_index("customer_id")["persona"]


def _truth():
    return pd.read_csv(SAMPLE_DIR / TRUTH_FILE).set_index("customer_id")["persona"]


def test_planted_personas_are_recovered_with_the_planted_number(sample_store, model):
    assert model.k == len(PERSONAS) == 5
    assert "5 personas" in model.explanation and "stability" in model.explanation
    # an observation log: a stage not observed stays behaviour (counts and indicators)
    assert "A stage not observed is behaviour (6 observed stages)" in model.explanation
    assert "Not rated" not in model.explanation and "gap_ami" not in model.diagnostics
    assert list(model.diagnostics["k"]) == [3, 4, 5, 6, 7, 8]
    best = model.diagnostics.set_index("k")
    assert best["stability"].idxmax() == 5 and best["silhouette"].idxmax() == 5
    assigned = _assignments(sample_store, model.model_id)
    assert len(assigned) == 2400
    assert adjusted_rand_score(_truth().loc[assigned.index], assigned) >= 0.9


def test_refit_on_unchanged_data_gives_identical_assignments(sample_store, model):
    again = discover(sample_store)
    assert again.model_id == model.model_id + 1
    assert _assignments(sample_store, again.model_id).equals(
        _assignments(sample_store, model.model_id)
    )
    assert [p["size"] for p in again.profiles] == [p["size"] for p in model.profiles]


def test_profiles_name_the_planted_distinguishing_features(sample_store, model):
    assigned = _assignments(sample_store, model.model_id)
    truth = _truth().loc[assigned.index]
    by_number = {p["persona"]: p for p in model.profiles}
    assert sum(p["size"] for p in model.profiles) == 2400
    assert [p["size"] for p in model.profiles] == sorted(
        (p["size"] for p in model.profiles), reverse=True
    )  # persona 1 is the largest
    for planted in PERSONAS:
        found = by_number[int(assigned[truth == planted.name].mode().iloc[0])]
        labels = [d["label"] for d in found["distinguishing"]]
        named = [f"score at {s}" for s in (*planted.delight, *planted.disappoint)]
        assert any(label in labels for label in named), (planted.name, labels)
        for stage in planted.delight:
            if f"delighted at {stage}" in found["name"]:
                break
        else:
            pytest.fail(f"{planted.name}: no planted delight in {found['name']!r}")
    app_first = by_number[int(assigned[truth == "App-first digital natives"].mode().iloc[0])]
    assert app_first["name"].startswith("App-first")
    assert app_first["typical"]["channels"]["app"] > 0.5
    assert set(app_first["outcomes"]) == {"nps", "satisfied", "repurchase"}


def test_pipeline_keeps_feature_names_and_marks_missing_stages(sample_store):
    features = customer_features(sample_store)
    pipeline = make_pipeline(features.groups, "kmeans", 5, 0)
    assert pipeline.named_steps["cluster"].random_state == 0
    out = pipeline.named_steps["features"].fit_transform(features.frame)
    assert isinstance(out, pd.DataFrame)
    assert {"score__Delivery", "channel__app", "missingindicator_score__Delivery"} <= set(
        out.columns
    )
    unobserved = features.frame["n__Delivery"] == 0
    assert unobserved.any()
    assert (out.loc[unobserved, "missingindicator_score__Delivery"] == 1).all()
    assert (out.loc[~unobserved, "missingindicator_score__Delivery"] == 0).all()


@pytest.mark.parametrize("method", ["gmm", "agglomerative"])
def test_other_methods_with_fixed_k(sample_store, method):
    features = customer_features(sample_store)
    finder = PersonaSettings(k=5, method=method, bootstraps=10).finder().fit(features.frame)
    assert finder.k_ == 5 and len(finder.diagnostics_) == 1
    truth = _truth().loc[features.frame.index]
    assert adjusted_rand_score(truth, finder.labels_) >= 0.8


def test_agglomerative_refuses_too_many_customers():
    frame = pd.DataFrame({"x": np.arange(20_001, dtype=float)})
    with pytest.raises(ValueError, match="up to 20,000 customers"):
        PersonaFinder(k=3, method="agglomerative").fit(frame)


def test_the_finder_follows_the_scikit_learn_contract():
    """Parameters only stored by __init__ (get_params/set_params/clone work), fit learns
    attributes ending in _ and checks its parameters in one place."""
    finder = PersonaFinder(k=3, random_state=5)
    assert finder.get_params()["random_state"] == 5
    assert clone(finder.set_params(bootstraps=2)).get_params()["bootstraps"] == 2
    assert not hasattr(finder, "labels_")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": np.r_[rng.normal(0, 1, 60), rng.normal(8, 1, 60), rng.normal(16, 1, 60)]}
    )
    fitted = finder.fit(frame)
    assert fitted is finder and finder.k_ == 3 and finder.n_features_in_ == 1
    assert sorted(np.unique(finder.labels_)) == [1, 2, 3]
    with pytest.raises(ValueError, match="unknown method"):
        PersonaFinder(method="dbscan").fit(frame)
    with pytest.raises(ValueError, match="at least 2"):
        PersonaFinder(k=1).fit(frame)


def test_rename_is_kept_and_staleness_is_noticed(sample_store, write):
    current = latest_model(sample_store)
    assert current is not None and not is_stale(sample_store, current)
    rename(sample_store, current.model_id, 1, "Digital natives")
    assert latest_model(sample_store).profiles[0]["name"] == "Digital natives"
    with pytest.raises(StoreError, match="no persona 9"):
        rename(sample_store, current.model_id, 9, "x")
    ingest_file(sample_store, write("new.csv", "customer_id,stage,score\nNEW1,Usage,2\n"))
    assert is_stale(sample_store, latest_model(sample_store))


def test_cli_json_contract(sample_store, capsys):
    code = main(["personas", "--db", str(sample_store.path), "--k", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) >= {"model_id", "k", "diagnostics", "personas"}
    assert out["k"] == 5 and out["diagnostics"][0]["k"] == 5
    assert set(out["diagnostics"][0]) == {"k", "silhouette", "stability"}
    first = out["personas"][0]
    assert set(first) >= {"persona", "name", "size", "share", "distinguishing", "outcomes"}
    assert main(["personas", "--db", str(sample_store.path), "--k", "one"]) == 2
