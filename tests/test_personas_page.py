"""AppTest of the Personas page: find personas on the sample, read the cards against the
store, rename a persona (and see it on the heatmaps), staleness, errors in words."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from cxdata.config import Settings
from cxdata.ingest import ingest_file
from cxdata.personas.models import latest_model
from cxdata.store import Store
from tests.conftest import shown, start_app

TIMEOUT = 180
PAGE = "app_pages/personas.py"
CARD_CAPTION = re.compile(r"^Persona (\d+) · ([\d,]+) customers · (\d+)%$")


def _start(page: str = PAGE) -> AppTest:
    return start_app(page, TIMEOUT)


def _find_personas(at: AppTest) -> None:
    """Submit the discovery form with whatever it holds (the defaults unless changed)."""
    at.button(key="personas_find").click().run()
    assert not at.exception, at.exception


def _shown_text(markdown: str) -> str:
    """Markdown as the reader sees it: bold marks and backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", markdown.removeprefix("**").removesuffix("**"))


def _cards(at: AppTest, model_id: int) -> pd.DataFrame:
    """persona, name (the card's bold title and its rename box), size and share per card."""
    rows = [
        {"persona": int(m[1]), "size": int(m[2].replace(",", "")), "percent": int(m[3])}
        for c in at.caption
        if (m := CARD_CAPTION.match(c.value))
    ]
    titles = {_shown_text(m.value) for m in at.markdown if shown(m.value).startswith("**")}
    for row in rows:
        row["name"] = at.text_input(key=f"persona_name_{model_id}_{row['persona']}").value
        assert row["name"] in titles, (row["name"], titles)
    return pd.DataFrame(rows).sort_values("persona").reset_index(drop=True)


def _stored(store: Store, model_id: int) -> pd.DataFrame:
    """Names and sizes read from the store's tables, not through cxdata.personas."""
    return store.query_df(
        """SELECT n.persona, n.name, count(*) AS size
           FROM persona_names n JOIN persona_assignments a USING (model_id, persona)
           WHERE n.model_id = ? GROUP BY ALL ORDER BY n.persona""",
        [model_id],
    )


def _chart_data(at: AppTest, index: int, column: str) -> pd.DataFrame:
    """The data behind the index-th Altair chart on the page, as the browser receives it."""
    import pyarrow as pa

    proto = at.get("vega_lite_chart")[index].proto
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in proto.datasets]
    return next(f for f in frames if column in f.columns)


def test_find_personas_shows_the_stored_model_and_a_rename_reaches_the_heatmaps(
    app_db, monkeypatch
):
    monkeypatch.setenv("CXDATA_AUTO_PERSONAS", "false")  # the page's own first fit
    at = _start()
    assert at.title[0].value == "Personas"
    assert "No persona model yet" in shown(at.info[0].value)
    _find_personas(at)

    store = Store.open(Settings(), app_db)
    model = latest_model(store)
    assert model is not None and model.k == 5
    assert shown(at.success[0].value) == f"Found 5 personas (model {model.model_id})."
    assert "k = 5 personas" in shown(at.caption[0].value)
    assert model.explanation.startswith("5 personas:")
    assert model.explanation in [shown(m.value) for m in at.markdown]
    assert [s.value for s in at.subheader] == ["The 5 personas"]
    assert not at.warning

    diagnostics = _chart_data(at, 0, "stability")
    assert sorted(diagnostics["k"]) == [3, 4, 5, 6, 7, 8]

    cards = _cards(at, model.model_id)
    stored = _stored(store, model.model_id)
    assert len(cards) == 5
    assert cards["name"].tolist() == stored["name"].tolist()
    assert cards["size"].tolist() == stored["size"].tolist()
    assert cards["name"].tolist() == [p["name"] for p in model.profiles]
    assert cards["size"].tolist() == [p["size"] for p in model.profiles]
    assert cards["size"].sum() == 2400
    assert cards["percent"].tolist() == [round(s / 2400 * 100) for s in stored["size"]]
    # one stage row per card: six stages on the heatmaps' colour scale
    for index in range(1, 6):
        row = _chart_data(at, index, "net_experience")
        assert len(row) == 6 and row["persona"].nunique() == 1

    at.text_input(key=f"persona_name_{model.model_id}_1").input("Bargain hunters")
    at.button(key=f"persona_rename_{model.model_id}_1").click().run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value) == "Persona 1 is now called “Bargain hunters”."
    assert _cards(at, model.model_id)["name"].iloc[0] == "Bargain hunters"
    stored = _stored(store, model.model_id)
    assert stored["name"].iloc[0] == "Bargain hunters"
    assert "Bargain hunters" in set(_chart_data(at, 1, "net_experience")["persona"])

    at.switch_page("app_pages/heatmaps.py").run()
    at.selectbox(key="heatmap_segment").set_value("persona").run()
    assert not at.exception, at.exception
    cells = _chart_data(at, 0, "stage")
    assert set(cells["row"]) == set(stored["name"])
    assert len(cells[cells["row"] == "Bargain hunters"]) == 6


def test_staleness_warning_after_another_import(app_db, tmp_path):
    at = _start()
    _find_personas(at)
    assert not at.warning
    extra = tmp_path / "new_customers.csv"
    extra.write_text(
        "customer_id,stage,score\nNEW-1,Purchase,2\nNEW-2,Delivery,-1\nNEW-3,Usage,1\n"
    )
    ingest_file(Store.open(Settings(), app_db), extra)
    at.run()
    assert not at.exception, at.exception
    assert [shown(w.value) for w in at.warning] == [
        "The persona model is older than the data: batches were added or removed since it "
        "was fitted. Find personas again to include them."
    ]
    assert at.expander[0].label == "Find personas again (a new model)"  # right below it


def test_too_few_customers_is_said_in_words(app_db, tmp_path, monkeypatch):
    monkeypatch.setenv("CXDATA_LOAD_SAMPLE_ON_EMPTY", "false")
    small = tmp_path / "small.csv"
    small.write_text("customer_id,stage,score\nA,Purchase,2\nB,Delivery,-1\nC,Usage,1\n")
    ingest_file(Store.open(Settings(), app_db), small)
    at = _start()
    _find_personas(at)
    assert [shown(e.value) for e in at.error] == ["Too few customers (3) to look for personas."]
    assert latest_model(Store.open(Settings(), app_db)) is None
