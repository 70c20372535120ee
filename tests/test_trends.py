"""Trends: net experience per stage and period with its interval (by hand), the change
between two periods in one sentence, the CLI, and the change test's false-positive rate on
simulated no-change data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxdata.analysis.compare import compare_cells
from cxdata.analysis.filters import FilterError
from cxdata.analysis.trends import change, net_trend, sentences
from cxdata.cli import main
from cxdata.ingest import ingest_file

STAGE = "Value for money"


def _rows(year: int, n: int, delighted: int, disappointed: int, start: int) -> list[str]:
    out = []
    for i in range(n):
        score = 1 if i < delighted else -1 if i < delighted + disappointed else 0
        out.append(f"C{start + i},{STAGE},{score},{year}-06-01")
        out.append(f"C{start + i},Booking,1,{year}-06-01")  # unchanged: everyone delighted
    return out


@pytest.fixture
def waves(store, write):
    """2019: 100 customers, 50 delighted, 19 disappointed (net +0.31); 2022: 100 others,
    30 delighted, 42 disappointed (net -0.12)."""
    lines = ["customer_id,stage,score,observed_at"]
    lines += _rows(2019, 100, 50, 19, 0) + _rows(2022, 100, 30, 42, 100)
    ingest_file(store, write("waves.csv", "\n".join(lines) + "\n"))
    return store


def test_net_per_period_with_its_interval(waves):
    df = net_trend(waves, "observed_year")
    row = df[(df["stage"] == STAGE) & (df["observed_year"] == "2019")].iloc[0]
    assert (row["n_customers"], row["net_experience"]) == (100, pytest.approx(0.31))
    values = np.array([1] * 50 + [-1] * 19 + [0] * 31, dtype=float)  # the +1/0/-1 values
    half = stats.t.ppf(0.975, 99) * values.std(ddof=1) / 10
    assert row["net_low"] == pytest.approx(0.31 - half)
    assert row["net_high"] == pytest.approx(0.31 + half)
    assert list(df["observed_year"][df["stage"] == STAGE]) == ["2019", "2022"]


def test_a_low_n_interval_stops_at_the_ends_of_the_net_scale(store, write):
    lines = ["customer_id,stage,score,observed_at", "C1,Pay,1,2011-01-01",
             "C2,Pay,-1,2011-01-01", "C3,Pay,-2,2011-01-01"]  # fmt: skip
    ingest_file(store, write("few.csv", "\n".join(lines) + "\n"))
    row = net_trend(store, "observed_year").iloc[0]
    assert row["net_experience"] == pytest.approx(-1 / 3) and row["low_n"]
    # the t interval is -1/3 -+ 2.87 (n = 3): cut at the ends of the scale
    assert (row["net_low"], row["net_high"]) == (-1.0, 1.0)


def test_change_reads_as_one_sentence(waves):
    df = change(waves, "observed_year", "2019", "2022")
    row = df[df["stage"] == STAGE].iloc[0]
    assert (row["net_from"], row["net_to"]) == (pytest.approx(0.31), pytest.approx(-0.12))
    assert row["change"] == pytest.approx(-0.43) and row["significant"]
    assert row["ci_high"] < 0 and row["ci_level"] == pytest.approx(1 - 1 * 0.05 / 2)
    booking = df[df["stage"] == "Booking"].iloc[0]
    assert booking["change"] == 0 and not booking["significant"]
    text = sentences(df, "2019", "2022")
    assert text[0] == (
        "Value for money fell from +0.31 to −0.12 between 2019 and 2022 (significant)"
    )
    assert text[1] == "Booking stayed at +1.00 between 2019 and 2022 (not significant)"


def test_bad_periods_are_clear_errors(waves):
    with pytest.raises(FilterError, match='no observations in observed_year "2031"'):
        change(waves, "observed_year", "2019", "2031")
    with pytest.raises(FilterError, match='"channel" is no period; choose from'):
        net_trend(waves, "channel")
    with pytest.raises(FilterError, match="two different periods"):
        change(waves, "observed_year", "2019", "2019")


def test_cli_trends(waves, capsys):
    db = str(waves.path)
    code = main(["trends", "--db", db, "--period", "observed_year", "--from", "2019",
                 "--to", "2022"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Value for money fell from +0.31 to −0.12 between 2019 and 2022 (significant)" in out
    code = main(["trends", "--db", db, "--period", "observed_year", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and len(rows) == 4
    first = rows[0]
    assert (first["stage"], first["observed_year"], first["n_customers"]) == (STAGE, "2019", 100)
    assert first["net_experience"] == pytest.approx(0.31)  # journey order: first seen first
    code = main(["trends", "--db", db, "--from", "2019"])
    assert code == 2 and "--from and --to" in capsys.readouterr().err


def test_change_test_false_positive_rate_on_no_change_data():
    """Six stages, the same +1/0/-1 shares in both periods (no change anywhere), as
    change_cells hands them to the comparison's procedure; 400 seeds. Per tested stage the
    false-positive rate must stay at or below 5% (it is about 1%: BH over six stages), and
    the chance of any false finding per seed near the 5% false discovery rate (under no
    change at all FDR equals that chance; 1000 seeds gave 5.4%)."""
    shares = [(0.5, 0.3, 0.2), (0.2, 0.3, 0.5), (0.4, 0.2, 0.4), (0.6, 0.3, 0.1),
              (0.1, 0.2, 0.7), (0.33, 0.34, 0.33)]  # fmt: skip
    seeds, found, tested, any_found = 400, 0, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        cells = pd.concat(
            pd.DataFrame({"stage": f"s{i}", "side": side,
                          "score": rng.choice([1.0, 0.0, -1.0], size=n, p=p)})
            for i, p in enumerate(shares) for side, n in (("a", 60), ("b", 90))
        )  # fmt: skip
        df = compare_cells(cells, "stage", 30)
        found += int(df["significant"].sum())
        tested += int(df["tested"].sum())
        any_found += bool(df["significant"].any())
    assert tested == 6 * seeds
    assert found / tested <= 0.05
    se = np.sqrt(0.05 * 0.95 / seeds)
    assert any_found / seeds <= 0.05 + 2 * se


def test_trends_page_says_the_change_in_one_sentence(app_db, write):
    from cxdata.config import Settings
    from cxdata.store import Store
    from tests.app_data import chart_data
    from tests.conftest import shown, start_app

    store = Store.open(Settings(), app_db)
    lines = ["customer_id,stage,score,observed_at"]
    lines += _rows(2019, 100, 50, 19, 0) + _rows(2022, 100, 30, 42, 100)
    ingest_file(store, write("waves.csv", "\n".join(lines) + "\n"))
    at = start_app("app_pages/trends.py")
    assert [t.value for t in at.title] == ["Trends"]
    assert at.selectbox(key="trend_period").value == "observed_year"  # 2019-2022: years
    assert (at.selectbox(key="trend_from").value, at.selectbox(key="trend_to").value) == (
        "2019",
        "2022",
    )
    said = [shown(m.value) for m in at.markdown]
    assert any(
        "- Value for money fell from +0.31 to −0.12 between 2019 and 2022 (significant)" in s
        for s in said
    ), said
    (table,) = [d.value for d in at.dataframe if "Net before" in d.value.columns]
    vfm = table[table["Stage"] == STAGE].iloc[0]
    assert (vfm["Net before"], vfm["Net after"], vfm["Change"]) == (0.31, -0.12, -0.43)
    assert vfm["Significant"] and vfm["Adjusted CI to"] < 0 and vfm["n after"] == 100
    points = chart_data(at, 0)
    row = points[(points.stage == STAGE) & (points.observed_year == "2022")].iloc[0]
    assert (row.n_customers, round(row.net_experience, 2)) == (100, -0.12)
    at.selectbox(key="trend_period").set_value("observed_quarter").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="trend_from").value == "2019-Q2"


def test_waves_as_studies_or_an_attribute(store, write):
    """A study per wave (no timestamps needed), or a `wave` column stored as an attribute."""
    header = "customer_id,stage,score,wave\n"
    early = [r.rsplit(",", 1)[0] + ",w1" for r in _rows(2019, 100, 50, 19, 0)]
    late = [r.rsplit(",", 1)[0] + ",w2" for r in _rows(2022, 100, 30, 42, 100)]
    ingest_file(store, write("w1.csv", header + "\n".join(early) + "\n"), study="Wave 1")
    ingest_file(store, write("w2.csv", header + "\n".join(late) + "\n"), study="Wave 2")
    for period, earlier, later in (("study", "Wave 1", "Wave 2"), ("wave", "w1", "w2")):
        df = change(store, period, earlier, later)
        row = df[df["stage"] == STAGE].iloc[0]
        assert (round(row["net_from"], 2), round(row["net_to"], 2)) == (0.31, -0.12), period
        assert row["significant"]
    trend = net_trend(store, "wave")
    assert list(trend[trend["stage"] == STAGE]["wave"]) == ["w1", "w2"]
