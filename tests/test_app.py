"""AppTest of the router and its pages: what a user reads, not only the absence of errors."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.sample import SAMPLE_DIR
from cxdata.store import Store
from tests.app_data import chart_data as _chart_data
from tests.conftest import shown, start_app

TIMEOUT = 120


def _start(page: str | None = None) -> AppTest:
    return start_app(page, TIMEOUT)


def _sample_observation_count() -> int:
    """Rows of the long sample files plus the non-N/A ratings of the wide survey."""
    long = sum(
        len(pd.read_csv(SAMPLE_DIR / f, sep=None, engine="python"))
        for f in ("retail_store_visits.csv", "ecommerce_sessions_de.csv")
    )
    long += len(pd.read_parquet(SAMPLE_DIR / "call_centre_calls.parquet"))
    survey = pd.read_csv(SAMPLE_DIR / "survey_wide.csv")
    items = [c for c in survey.columns if c.startswith("Q")]
    return long + int((survey[items] != 0).sum().sum())


def test_first_start_loads_sample_and_overview_shows_it(app_db):
    at = _start()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Observations"] == f"{_sample_observation_count():,}"
    assert metrics["Customers"] == "2,400"
    assert metrics["Studies"] == "4"
    assert metrics["Batches"] == "4"
    assert (
        "Awareness → Consideration → Purchase → Delivery → Usage → Support"
        in [shown(c.value) for c in at.caption][0]
    )
    batches = at.dataframe[0].value
    assert sorted(batches["File"]) == sorted(
        [
            "retail_store_visits.csv",
            "ecommerce_sessions_de.csv",
            "call_centre_calls.parquet",
            "survey_wide.csv",
        ]
    )
    # Emptying the store later does not bring the sample back on the next start.
    store = Store.open(Settings(), app_db)
    for batch_id in store.batches()["batch_id"]:
        store.remove_batch(int(batch_id))
    at = _start()
    assert {m.label: m.value for m in at.metric}["Observations"] == "0"
    assert "The store is empty" in shown(at.info[0].value)


def test_upload_checks_then_imports_and_lists_the_batch(app_db):
    at = _start("app_pages/upload.py")
    content = b"Kundennummer;Phase;Bewertung;Notiz\nK-1;Purchase;2;gut\nK-2;Delivery;-1;spaet\n"
    at.file_uploader(key="upload_file").upload("feld.csv", content, "text/csv").run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value).startswith(
        "feld.csv: CSV, UTF-8, semicolon-separated, 2 rows."
    )
    assert "2 observations are ready to import" in shown(at.success[0].value)
    detected = at.dataframe[0].value
    assert dict(
        zip(detected["canonical column"], detected["column in your file"], strict=True)
    ) == {"customer_id": "Kundennummer", "stage": "Phase", "score": "Bewertung", "note": "Notiz"}
    at.button(key="upload_import").click().run()
    assert not at.exception, at.exception
    assert any(
        shown(s.value).startswith("feld.csv: imported as batch 5: 2 observations, 2 customers")
        for s in at.success
    )
    batches = at.dataframe[-1].value
    assert batches.iloc[0]["File"] == "feld.csv" and batches.iloc[0]["Observations"] == 2
    store = Store.open(Settings(), app_db)
    assert (
        store.query_df("SELECT count(*) AS n FROM observations WHERE customer_id LIKE 'K-%'")["n"][
            0
        ]
        == 2
    )


def test_upload_with_problems_shows_every_problem_and_imports_nothing(app_db):
    at = _start("app_pages/upload.py")
    before = Store.open(Settings(), app_db).stats()["observations"]
    content = b"customer_id,stage,score\nC1,Purchase,5\n,Delivery,1\nC3,Usage,gut\n"
    at.file_uploader(key="upload_file").upload("bad.csv", content, "text/csv").run()
    assert "3 problem(s) found; nothing can be imported" in shown(at.error[0].value)
    problems = at.dataframe[0].value
    assert problems[["row", "column", "value"]].fillna("").values.tolist() == [
        [2, "score", "5"],
        [3, "customer_id", ""],
        [4, "score", "gut"],
    ]
    assert not [b for b in at.button if b.key == "upload_import"]
    assert Store.open(Settings(), app_db).stats()["observations"] == before


def test_remove_batch_from_the_upload_page(app_db):
    at = _start("app_pages/upload.py")
    at.selectbox[0].set_value(4)
    at.checkbox(key="remove_batch_sure").check()
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    store = Store.open(Settings(), app_db)
    assert sorted(store.batches()["batch_id"]) == [1, 2, 3]


def _net_by(store: Store, attribute: str | None = None) -> pd.DataFrame:
    """Net experience per stage (x attribute value), computed independently in plain SQL:
    a double-coded unit (customer x stage x touchpoint x code) counts once, as the mean of
    its observers' sums."""
    join = (
        "JOIN customer_attributes a ON a.customer_id = o.customer_id AND a.name = $name"
        if attribute
        else ""
    )
    segment = "a.value" if attribute else "'all'"
    return store.query_df(
        f"""WITH coded AS (
                SELECT customer_id, stage, touchpoint, interaction, observer, sum(score) AS s
                FROM observations GROUP BY ALL),
            o AS (
                SELECT customer_id, stage, touchpoint, interaction, avg(s) AS score
                FROM coded GROUP BY ALL),
            cells AS (
                SELECT o.customer_id, o.stage, {segment} AS segment, sum(o.score) AS s
                FROM o {join} GROUP BY ALL)
            SELECT stage, segment, avg((s > 0)::INT) - avg((s < 0)::INT) AS net,
                   count(*) AS n FROM cells GROUP BY ALL""",
        {"name": attribute} if attribute else None,
    )


def test_heatmap_page_shows_the_numbers(app_db):
    at = _start("app_pages/heatmaps.py")
    at.selectbox(key="heatmap_segment").set_value("loyalty_tier").run()
    store = Store.open(Settings(), app_db)
    metrics = {m.label: (m.value, m.proto.delta) for m in at.metric}
    assert metrics["Observations"][0] == f"{_sample_observation_count():,}"
    assert metrics["Customers"][0] == "2,400"
    overall = _net_by(store).sort_values("net")
    worst, best = overall.iloc[0], overall.iloc[-1]
    assert metrics["Most disappointing stage"] == (worst.stage, f"{worst.net:+.2f} net")
    assert metrics["Most delighting stage"] == (best.stage, f"{best.net:+.2f} net")

    cells = _chart_data(at, 0)
    expected = _net_by(store, "loyalty_tier")
    assert len(cells) == len(expected) == 6 * 4  # six stages x four loyalty tiers
    for _, e in expected.iterrows():
        cell = cells[(cells.stage == e.stage) & (cells.row == e.segment)].iloc[0]
        assert cell.label == f"{e.net:+.2f}"
        assert cell.n_customers == e.n
    curve = _chart_data(at, 1)
    assert set(curve["row"]) == {"Basic", "Bronze", "Gold", "Silver"}
    touchpoints = _chart_data(at, 2)
    home = touchpoints[touchpoints.row == "Home delivery"].iloc[0]
    assert home.stage == "Delivery" and home.verdict == "disappointment"
    assert "How scores are computed" in at.expander[0].label
    assert "sum of their unit scores" in shown(at.expander[0].markdown[0].value)


def test_heatmap_filters_and_segments(app_db):
    at = _start("app_pages/heatmaps.py")
    at.multiselect(key="filter_study").set_value(["Retail store visits"]).run()
    at.selectbox(key="heatmap_segment").set_value("study").run()
    assert not at.exception, at.exception
    store = Store.open(Settings(), app_db)
    retail = store.query_df(
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS c FROM observations "
        "WHERE study = 'Retail store visits'"
    ).iloc[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Observations"] == f"{retail.n:,}" and metrics["Customers"] == f"{retail.c:,}"
    assert "study=Retail store visits" in shown(at.caption[0].value)
    cells = _chart_data(at, 0)
    assert set(cells["row"]) == {"Retail store visits"}
