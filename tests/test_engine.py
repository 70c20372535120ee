"""The engine seam: analysis takes an Engine; the DuckDB engine is the store itself."""

from __future__ import annotations

import pandas as pd

from cxdata.analysis.filters import Filters
from cxdata.analysis.scoring import stage_scores
from cxdata.engine import DuckDBEngine
from cxdata.ingest import ingest_file

LOG = (
    "customer_id,stage,score,channel,tier\n"
    "C1,Delivery,2,web,Gold\nC1,Purchase,-1,web,Gold\nC2,Purchase,1,store,Basic\n"
    "C2,Returns,-2,store,Basic\nC3,Returns,3,app,Gold\n"
)


def test_the_duckdb_engine_is_the_store(store, write):
    ingest_file(store, write("log.csv", LOG))
    engine = DuckDBEngine(store)
    filters = Filters.build({"channel": ["web", "store"]}, {"tier": ["Gold"]})
    pd.testing.assert_frame_equal(
        stage_scores(engine, ["channel"], filters), stage_scores(store, ["channel"], filters)
    )
    rows = stage_scores(engine, [], filters)
    assert rows[["stage", "n_customers", "mean_score"]].values.tolist() == [
        ["Delivery", 1, 2.0],
        ["Purchase", 1, -1.0],
    ]
    assert engine.settings is store.settings
    assert engine.data_version() == store.data_version()


def test_stage_order_places_only_what_it_is_asked_for(store, write):
    """Stages no framework names come in order of first appearance; asking for the stages
    of a result gives the same relative order as the whole journey."""
    ingest_file(store, write("log.csv", LOG))
    engine = DuckDBEngine(store)
    assert engine.stage_order() == ["Delivery", "Purchase", "Returns"]
    assert engine.stage_order({"Returns", "Delivery"}) == ["Delivery", "Returns"]


def test_filter_values_leave_nothing_behind(store, write):
    """Filter values are registered on the block's connection only (a memtable)."""
    ingest_file(store, write("log.csv", LOG))
    filters = Filters.build({"channel": ["web"]})
    with store.ibis() as backend:
        assert filters.apply(backend).count().to_pandas() == 2
    with store.connect() as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert not {n for n in names | views if "memtable" in n or "filter" in n}


def test_the_engine_settings_and_their_errors(store, write, tmp_path, capsys, monkeypatch):
    """--engine/--lake/--spark-master on every analysis command; what is missing is said in
    one line before Spark starts (no lake given, no lake written there, a misspelt engine)."""
    from cxdata.cli import main

    ingest_file(store, write("log.csv", LOG))
    db = ["--db", str(store.path)]
    assert main(["scores", *db, "--engine", "duckdb"]) == 0
    assert "Delivery" in capsys.readouterr().out
    for command in (["scores"], ["compare", "--a", "tier=Gold", "--b", "rest"],
                    ["priorities", "--outcome", "tier"], ["personas"], ["outcomes"],
                    ["agreement"], ["report", "--out", str(tmp_path / "r.html")]):  # fmt: skip
        assert main([*command, *db, "--engine", "spark"]) == 1
        assert "give --lake DIR (or CXDATA_LAKE)" in capsys.readouterr().err
    lake = tmp_path / "no-lake"
    assert main(["scores", *db, "--engine", "spark", "--lake", str(lake)]) == 1
    assert f"write it first with: cxdata lake sync {lake}" in capsys.readouterr().err
    monkeypatch.setenv("CXDATA_ENGINE", "flink")
    assert main(["scores", *db]) == 2
    assert "CXDATA_ENGINE='flink': engine accepts one of duckdb, spark" in capsys.readouterr().err


def test_the_app_says_why_spark_cannot_be_used(app_db, monkeypatch, tmp_path):
    """The app opens the engine the settings name (as the CLI does); a Spark engine that
    cannot be used is a message on the page, never a traceback (no JVM is started)."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, shown

    monkeypatch.setenv("CXDATA_LOAD_SAMPLE_ON_EMPTY", "false")
    monkeypatch.setenv("CXDATA_ENGINE", "spark")
    for lake, message in (("", "give --lake DIR (or CXDATA_LAKE)"),
                          (str(tmp_path / "none"), "There is no cxdata lake at")):  # fmt: skip
        monkeypatch.setenv("CXDATA_LAKE", lake)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.run()
        assert not at.exception
        assert message in shown(at.error[0].value)
