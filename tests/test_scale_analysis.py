"""Compare and priorities past one machine: the engine counts customers per group, so no
per-customer frame reaches Python (the relative weights get a bounded, seeded sample), and
the numbers are those of the per-customer computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ibis.expr.types import Table

from cxdata.analysis.compare import Segment, compare, compare_cells, customer_cells
from cxdata.analysis.moments import moments_from_cells
from cxdata.analysis.priorities import customer_cells as priority_cells
from cxdata.analysis.priorities import priorities_from_cells
from cxdata.config import Settings
from cxdata.sample.load import load_sample
from cxdata.store import Store


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Store:
    store = Store.open(Settings(), tmp_path_factory.mktemp("scale_analysis") / "cx.duckdb")
    load_sample(store)
    return store


@pytest.fixture
def pulled(monkeypatch) -> list[int]:
    """The distinct customers of every frame read from the engine."""
    seen: list[int] = []
    to_pandas = Table.to_pandas

    def counting(self, *args, **kwargs):
        df = to_pandas(self, *args, **kwargs)
        seen.append(df["customer_id"].nunique() if "customer_id" in df.columns else 0)
        return df

    monkeypatch.setattr(Table, "to_pandas", counting)
    return seen


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for column in a.columns:
        if pd.api.types.is_float_dtype(a[column]):
            np.testing.assert_allclose(a[column], b[column], rtol=1e-12, atol=1e-15)
        else:
            assert a[column].tolist() == b[column].tolist(), column


@pytest.mark.parametrize("level", ["stage", "touchpoint"])
def test_compare_reads_counts_and_gives_the_per_customer_numbers(sample, pulled, level):
    a, b = Segment((("loyalty_tier", ("Gold", "Silver")),)), Segment(rest=True)
    df = compare(sample, a, b, level)
    assert pulled and max(pulled) == 0  # not one frame with a customer column
    per_customer = customer_cells(sample, a, b, level)
    assert per_customer["customer_id"].nunique() > 2000
    order = sample.stage_order(per_customer["stage"].unique())
    expected = compare_cells(per_customer, level, sample.settings.min_customers, order)
    _close(df, expected)
    assert df.attrs["n_unknown"] == expected.attrs["n_unknown"]
    assert int(df["tested"].sum()) >= 6 and df["significant"].any()


def test_priorities_read_counts_and_every_customer_below_the_bound(sample, pulled):
    cells, spec = priority_cells(sample, "nps")
    assert cells.sampled is None and cells.with_outcome == cells.sample["customer_id"].nunique()
    counted = int(cells.counts["customers"].sum())
    counts = cells.counts  # per group: bounded by cells x scores x answers, not customers
    assert len(counts) < counted / 5
    assert len(counts) <= 6 * counts["score"].nunique() * counts["y"].nunique(dropna=False)
    per_customer = pd.concat([cells.sample, _unknown_outcome_rows(sample)], ignore_index=True)
    assert len(per_customer) == counted
    table = priorities_from_cells(cells, spec, "stage", sample.stage_order(), 30)
    _close(table, priorities_from_cells(per_customer, spec, "stage", sample.stage_order(), 30))
    assert "seeded sample" not in table.attrs["method"]
    _close(
        moments_from_cells(cells, spec, "stage"), moments_from_cells(per_customer, spec, "stage")
    )


def _unknown_outcome_rows(store: Store) -> pd.DataFrame:
    """Cells of customers without an NPS answer (count for performance only)."""
    rows = store.query_df(
        "SELECT customer_id, stage, sum(score) AS score FROM observations WHERE customer_id "
        "NOT IN (SELECT customer_id FROM customer_attributes WHERE name = 'nps' AND number "
        "IS NOT NULL) GROUP BY ALL"
    )
    return rows.assign(y=np.nan)


def test_relative_weights_on_a_bounded_seeded_sample(sample, pulled):
    everyone, spec = priority_cells(sample, "nps")
    pulled.clear()
    cells, _ = priority_cells(sample, "nps", limit=500)
    assert max(pulled) == 500  # the sample is the only per-customer read
    assert cells.sampled == 500 and cells.with_outcome == everyone.with_outcome > 500
    again, _ = priority_cells(sample, "nps", limit=500)
    assert set(again.sample["customer_id"]) == set(cells.sample["customer_id"])  # seeded
    table = priorities_from_cells(cells, spec, "stage", sample.stage_order(), 30)
    full = priorities_from_cells(everyone, spec, "stage", sample.stage_order(), 30)
    assert (
        f"seeded sample of 500 of the {everyone.with_outcome:,} customers" in table.attrs["method"]
    )
    by_stage, full_by_stage = table.set_index("stage"), full.set_index("stage")
    for column in ("performance", "n", "correlation", "n_outcome"):  # every customer counts
        assert by_stage[column].to_dict() == pytest.approx(full_by_stage[column].to_dict())
    assert by_stage["importance"].idxmax() == full_by_stage["importance"].idxmax()
    _close(moments_from_cells(cells, spec, "stage"), moments_from_cells(everyone, spec, "stage"))
