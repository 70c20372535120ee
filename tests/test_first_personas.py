"""Personas from the first start: the app fits one model by itself (actor `auto`), once even
when sessions start together, the heatmap opens on stage x persona, a stale model is said
and refitted with one click; without a model the heatmap opens on a readable attribute."""

from __future__ import annotations

import json
import threading

from filelock import FileLock

from cxdata.app.first_personas import AUTO_ACTOR, fit_first_personas, wants_personas
from cxdata.config import Settings
from cxdata.display.tables import default_segment
from cxdata.ingest import ingest_file
from cxdata.personas.models import latest_model
from cxdata.sample.load import load_sample
from cxdata.store import Store
from tests.app_data import chart_data
from tests.conftest import shown, start_app

TIMEOUT = 180


def _fits(store: Store) -> list[dict[str, object]]:
    log = store.audit_log()
    rows = log[log["action"] == "persona_fit"]
    return [
        {"actor": a, **json.loads(d)} for a, d in zip(rows["actor"], rows["details"], strict=True)
    ]


def test_first_start_fits_personas_and_the_heatmap_shows_them(app_db):
    at = start_app("app_pages/heatmaps.py", TIMEOUT)
    store = Store.open(Settings(), app_db)
    model = latest_model(store)
    assert model is not None and model.model_id == 1
    assert model.settings["k"] is None and model.settings["seed"] == 0  # automatic k, seed 0
    assert [(f["actor"], f["model_id"], f["customers"]) for f in _fits(store)] == [
        (AUTO_ACTOR, 1, 2400)
    ]
    assert at.selectbox(key="heatmap_segment").value == "persona"
    cells = chart_data(at, 0)
    names = {p["name"] for p in model.profiles}
    assert set(cells["row"]) == names and len(cells) == 6 * model.k
    assert sum(p["size"] for p in model.profiles) == 2400
    assert not at.warning
    # Later starts (a new session of the same process, then a fresh process state) fit nothing.
    start_app("app_pages/heatmaps.py", TIMEOUT)
    assert len(_fits(store)) == 1


def test_two_sessions_starting_at_once_fit_once(store):
    load_sample(store)
    results = []

    def start() -> None:
        waits = Settings(lock_timeout_s=60)  # long enough: the second waits for the first
        results.append(fit_first_personas(Store.open(waits, store.path)))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]  # one fitted, one found it
    assert [f["model_id"] for f in _fits(store)] == [1]
    assert not wants_personas(store)


def test_a_fit_under_way_in_another_process_is_not_repeated(store):
    load_sample(store)
    other = FileLock(f"{store.path}.personas", thread_local=False)  # another process's lock
    other.acquire()
    try:
        assert fit_first_personas(store) is None  # waited lock_timeout_s (2 s), fitted nothing
    finally:
        other.release()
    assert latest_model(store) is None
    assert fit_first_personas(store) is not None
    assert fit_first_personas(store) is None  # a model exists now


def test_too_few_customers_is_remembered_not_retried(store, write):
    ingest_file(store, write("small.csv", "customer_id,stage,score\nA,Purchase,2\nB,Usage,1\n"))
    assert wants_personas(store)
    assert fit_first_personas(store) is None
    assert latest_model(store) is None and not wants_personas(store)
    more = "".join(f"C{i},Purchase,{i % 3 - 1}\n" for i in range(60))
    ingest_file(store, write("more.csv", "customer_id,stage,score\n" + more))
    assert wants_personas(store)  # new data: worth another try


def test_switched_off_the_app_fits_nothing_and_opens_on_a_readable_attribute(app_db, monkeypatch):
    monkeypatch.setenv("CXDATA_AUTO_PERSONAS", "false")
    at = start_app("app_pages/heatmaps.py", TIMEOUT)
    assert latest_model(Store.open(Settings(), app_db)) is None
    segment = at.selectbox(key="heatmap_segment")
    assert "persona" not in segment.options
    store = Store.open(Settings(), app_db)
    bands = store.query_df(
        "SELECT DISTINCT value FROM customer_attributes WHERE name = 'age_band'"
    )["value"]
    assert segment.options[0] == "age_band" and 2 <= len(bands) <= 12
    assert segment.value == "age_band"  # the sample's first attribute with 2-12 values
    assert set(chart_data(at, 0)["row"]) == set(bands)


def test_a_stale_model_is_said_on_the_heatmap_and_refitted_with_one_click(app_db, write):
    at = start_app("app_pages/heatmaps.py", TIMEOUT)
    store = Store.open(Settings(), app_db)
    rows = "".join(f"NEW-{i},Purchase,{i % 5 - 2}\n" for i in range(40))
    ingest_file(store, write("new.csv", "customer_id,stage,score\n" + rows))
    at.run()
    assert not at.exception, at.exception
    assert [shown(w.value) for w in at.warning] == [
        "The persona model (1) is older than the data: batches were added or removed since "
        "it was fitted, so new customers have no persona yet."
    ]
    at.button(key="heatmap_refit").click().run()
    assert not at.exception, at.exception
    model = latest_model(store)
    assert model is not None and model.model_id == 2
    assert sum(p["size"] for p in model.profiles) == 2440
    assert shown(at.success[0].value) == f"Found {model.k} personas (model 2)."
    assert not at.warning
    assert [f["actor"] for f in _fits(store)] == ["local", AUTO_ACTOR]  # newest first


def test_default_segment_prefers_personas_then_a_readable_attribute():
    counts = {"age_band": 40, "loyalty_tier": 4, "study": 4, "channel": 3}
    assert default_segment(["persona", "age_band", "loyalty_tier"], counts) == 0
    assert default_segment(["age_band", "loyalty_tier", "study"], counts) == 1
    assert default_segment(["age_band", "region"], {"age_band": 40, "region": 1}) == 0
