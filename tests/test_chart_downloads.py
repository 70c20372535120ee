"""Every chart downloadable, its caption (filters and n) inside the picture, and an emotion
curve that stays readable beyond eight segments."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cxdata.config import Settings
from cxdata.display.charts import GREY, OKABE_ITO, curve_colours, emotion_curve
from cxdata.display.downloads import caption_text, captioned, chart_png, chart_svg, n_range
from cxdata.store import Store
from tests.conftest import shown, start_app

TIMEOUT = 180


def _scores(segments: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {"seg": f"Segment {i:02d}", "stage": stage, "mean_score": rng.normal(),
         "ci_low": -1.0, "ci_high": 1.0, "net_experience": 0.1, "low_n": False,
         "n_customers": 100 + 10 * i}
        for i in range(segments) for stage in ("Purchase", "Delivery", "Usage")
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_up_to_eight_segments_each_get_their_own_colour():
    domain, colours = curve_colours(_scores(8).assign(row=lambda d: d["seg"]))
    assert len(domain) == 8 and len(set(colours)) == 8 and set(colours) <= set(OKABE_ITO)


def test_beyond_eight_the_largest_seven_are_coloured_the_rest_grey_and_all_in_the_legend():
    scores = _scores(12)
    domain, colours = curve_colours(scores.assign(row=scores["seg"]))
    largest = [f"Segment {i:02d}" for i in range(11, 4, -1)]  # n grows with i
    assert domain[:7] == largest and colours[:7] == OKABE_ITO[:7]
    assert sorted(domain[7:]) == [f"Segment {i:02d}" for i in range(5)]
    assert colours[7:] == [GREY] * 5
    spec = emotion_curve(scores, "seg", ["Purchase", "Delivery", "Usage"], "t").to_dict()
    scale = spec["layer"][1]["encoding"]["color"]["scale"]
    assert scale["domain"] == domain and scale["range"] == colours  # one legend entry per line
    assert spec["layer"][1]["encoding"]["color"]["legend"]["symbolLimit"] == 0  # none cut off
    tooltip = [t["field"] for t in spec["layer"][1]["encoding"]["tooltip"]]
    assert tooltip[0] == "row"  # hovering any line names it


def test_a_downloaded_chart_carries_its_title_filters_and_n():
    chart = emotion_curve(_scores(3), "seg", ["Purchase", "Delivery", "Usage"], "The curve")
    caption = caption_text("study=Retail store visits", n_range([31, 480]))
    assert caption == "Filters: study=Retail store visits · n = 31–480 customers per row"
    svg = chart_svg(captioned(chart, caption)).decode()
    text = " ".join(re.findall(r">([^<>]+)</text>", svg))
    assert "The curve" in text
    assert "Filters: study=Retail store visits · n = 31–480 customers per row" in text
    assert chart_png(captioned(chart, caption)).startswith(b"\x89PNG")
    assert n_range([50, 50]) == "n = 50 customers"


def test_the_heatmap_page_captions_every_chart_with_the_filters_and_its_n(app_db):
    at = start_app("app_pages/heatmaps.py", TIMEOUT)
    at.multiselect(key="filter_study").set_value(["Retail store visits"]).run()
    assert not at.exception, at.exception
    store = Store.open(Settings(), app_db)
    retail = store.query_df(
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS c FROM observations "
        "WHERE study = 'Retail store visits'"
    ).iloc[0]
    expected = (
        f"Filters: study=Retail store visits · n = {retail.c:,} customers, "
        f"{retail.n:,} observations"
    )
    captions = [shown(c.value) for c in at.caption]
    assert captions.count(expected) == 3  # stage × persona, emotion curve, touchpoints
    keys = {b.proto.id for b in at.get("download_button")}
    assert len(keys) == 3 * 3 + 2  # three charts x CSV/SVG/PNG, the report as PDF and HTML
    assert sum(k.endswith(("report_pdf", "report_html")) for k in keys) == 2
    assert sum("emotion_curve_by_persona" in k for k in keys) == 3
