"""The heatmap page as the executive reads it: an honest headline (no stage is called most
disappointing when none reaches the threshold), the outcome KPI row, outcomes by segment,
and customers without a segment value as an "(unknown)" row with their n."""

from __future__ import annotations

import pytest

from cxdata.config import Settings
from cxdata.ingest import ingest_file, parse_mapping
from cxdata.store import Store
from tests.app_data import chart_data
from tests.conftest import shown, start_app

N = 40
MAPPING = b'[outcomes]\nrecommended = { column = "recommended" }\n'


def _booking(i: int) -> int:
    """16 delighted, 10 disappointed, 14 neutral: net +0.15, below the delight threshold
    and far above the disappointment threshold."""
    return 1 if i < 16 else -1 if i < 26 else 0


def _flight(i: int) -> int:
    return 2 if i < 30 else -2 if i < 35 else 0  # net (30 - 5) / 40 = +0.625


def _file() -> str:
    lines = ["customer_id,stage,score,observed_at,traveller_type,recommended"]
    for i in range(N):
        kind = "" if i >= 30 else ("Business" if i % 2 else "Leisure")  # 10 without a type
        said = "yes" if i < 22 else "no"  # 22 of 40: 55%
        for stage, score in (("Booking", _booking(i)), ("Flight", _flight(i))):
            lines.append(f"C{i:02},{stage},{score},2022-05-0{1 + i % 5},{kind},{said}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def flights_app(app_db, write):
    store = Store.open(Settings(), app_db)
    ingest_file(store, write("flights.csv", _file()), mapping=parse_mapping(MAPPING, "m.toml"))
    return app_db


def test_heatmap_headline_kpis_and_unknown_row(flights_app):
    at = start_app("app_pages/heatmaps.py")
    at.selectbox(key="heatmap_segment").set_value("traveller_type").run()
    assert not at.exception, at.exception
    metrics = {m.label: (m.value, m.proto.delta) for m in at.metric}
    # Booking's +0.15 is the lowest net, but it is no disappointment: no stage is named.
    assert metrics["Most disappointing stage"] == ("None", "no stage at net ≤ -0.20")
    assert metrics["Most delighting stage"] == ("Flight", "+0.62 net")
    assert metrics["recommended (share yes)"][0] == "55%"
    caption = " ".join(shown(c.value) for c in at.caption)
    assert "recommended (share yes) 95% CI 40% to 69%, n = 40" in caption  # Wilson, 22/40

    cells = chart_data(at, 0)
    unknown = cells[(cells.row == "(unknown)") & (cells.stage == "Booking")].iloc[0]
    assert unknown.n_customers == 10  # customers 30-39: neutral at Booking
    assert set(cells["row"]) == {"Business", "Leisure", "(unknown)"}
    curve = chart_data(at, 1)
    assert "(unknown)" in set(curve["row"])

    (method,) = [e for e in at.expander if e.label == "How outcome KPIs are computed"]
    assert "Wilson score interval" in method.markdown[0].value
    (table,) = [d.value for d in at.dataframe if "Outcome" in d.value.columns]
    rows = {r["traveller type"]: r for r in table.to_dict("records")}
    assert list(rows) == ["Business", "Leisure", "(unknown)"]
    assert (rows["(unknown)"]["KPI"], rows["(unknown)"]["n"]) == ("0%", 10)  # 30-39 said no
    assert (rows["Leisure"]["KPI"], rows["Leisure"]["n"], rows["Leisure"]["low n"]) == (
        "73%",
        15,
        True,
    )  # even ids 0-28: 11 of 15 below 22


def test_persona_cards_show_outcome_kpis_from_values(app_db):
    """On the sample (personas fitted at the first start): each card's outcome line is the
    CLI's KPI per persona: satisfied/repurchase as shares (yes/no), nps as NPS points."""
    from cxdata.analysis.outcomes import outcome_kpis

    at = start_app("app_pages/personas.py")
    kpis = outcome_kpis(Store.open(Settings(), app_db), "persona")
    lines = [shown(m.value) for m in at.markdown if "**Outcomes:**" in m.value]
    assert lines and len(lines) == kpis["persona"].nunique()
    first = kpis[kpis["persona"] == kpis["persona"].iloc[0]].set_index("outcome")
    satisfied, nps = first.loc["satisfied"], first.loc["nps"]
    expected_share = f"satisfied (share ja/yes) {satisfied['value']:.0%} (95% CI "
    expected_nps = f"nps (NPS) {nps['value']:+.0f} (95% CI "
    assert any(expected_share in line and expected_nps in line for line in lines), lines
