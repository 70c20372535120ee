"""Segments with several values and unknowns, on generated travellers (tests/planted.py):
"everyone else" leaves the unknowns out and counts them; rest-all takes them in; a side may
hold several values of one column, AND-ed across columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxdata.analysis.compare import Segment, compare, summary
from cxdata.analysis.filters import FilterError
from cxdata.cli import main
from cxdata.ingest import ingest_file, load_mapping
from cxdata.store import Store
from tests import planted

COLUMNS = {"cabin", "traveller"}


@pytest.fixture
def trips(store, write) -> tuple[Store, pd.DataFrame]:
    frame = planted.travellers()
    mapping = load_mapping(write("m.toml", planted.mapping(["Seat"], "nps", sorted(COLUMNS))))
    ingest_file(store, write("trips.csv", frame.to_csv(index=False)), mapping=mapping)
    return store, frame.assign(score=planted.to_score(frame["Seat"]))


def _side(store: Store, a: list[str], b: list[str]) -> pd.Series:
    df = compare(store, Segment.parse(a, COLUMNS), Segment.parse(b, COLUMNS))
    assert len(df) == 1
    return df.iloc[0]


def test_everyone_else_excludes_the_unknowns_and_counts_them(trips):
    store, frame = trips
    business = frame[frame["traveller"] == "Business"]
    known_other = frame[frame["traveller"].isin(["Leisure"])]
    unknown = frame[frame["traveller"] == ""]
    assert len(unknown) > 50  # the generator leaves a quarter unknown
    row = _side(store, ["traveller=Business"], ["rest"])
    assert (row.n_a, row.n_b, row.n_unknown) == (len(business), len(known_other), len(unknown))
    assert row.mean_a == pytest.approx(business["score"].mean())
    assert row.mean_b == pytest.approx(known_other["score"].mean())
    # The unknowns score higher (planted): including them would widen the gap.
    everyone = _side(store, ["traveller=Business"], ["rest-all"])
    assert (everyone.n_b, everyone.n_unknown) == (len(known_other) + len(unknown), 0)
    assert everyone.mean_b == pytest.approx(frame.loc[frame["traveller"] != "Business",
                                                      "score"].mean())  # fmt: skip
    assert everyone["diff"] < row["diff"] < 0


def test_multi_value_side_and_and_across_columns(trips):
    store, frame = trips
    premium = frame["cabin"].isin(["First", "Business"])
    row = _side(store, ["cabin=First|Business"], ["rest"])
    assert row.n_a == premium.sum()
    assert row.mean_a == pytest.approx(frame.loc[premium, "score"].mean())
    assert row.n_b == frame["cabin"].isin(["Economy", "Premium"]).sum()
    assert row.n_unknown == (frame["cabin"] == "").sum()

    # AND across columns: a customer is surely outside when either known value rules them
    # out; unknown when no known value does and one is missing.
    both = premium & (frame["traveller"] == "Business")
    outside = (frame["cabin"].isin(["Economy", "Premium"])
               | (frame["traveller"] == "Leisure"))  # fmt: skip
    row = _side(store, ["cabin=First|Business", "traveller=Business"], ["rest"])
    assert (row.n_a, row.n_b, row.n_unknown) == (
        both.sum(),
        outside.sum(),
        len(frame) - both.sum() - outside.sum(),
    )
    assert row.mean_b == pytest.approx(frame.loc[outside, "score"].mean())


def test_explicit_b_counts_the_customers_it_cannot_place(trips):
    store, frame = trips
    row = _side(store, ["cabin=First"], ["cabin=Economy|Premium"])
    assert (row.n_a, row.n_b) == ((frame["cabin"] == "First").sum(),
                                  frame["cabin"].isin(["Economy", "Premium"]).sum())  # fmt: skip
    assert row.n_unknown == (frame["cabin"] == "").sum()  # Business cabins: known, not counted


def test_the_sentence_and_the_cli_state_the_unknowns(trips, capsys):
    store, frame = trips
    unknown = int((frame["traveller"] == "").sum())
    df = compare(store, Segment.parse(["traveller=Business"], COLUMNS), Segment(rest=True))
    assert df.attrs["n_unknown"] == unknown
    assert f"{unknown} customers were left out: a value that decides their segment is unknown" in (
        summary(df, "Business travellers", "everyone else")
    )
    code = main(["compare", "--db", str(store.path), "--a", "cabin=First|Business", "--a",
                 "traveller=Business", "--b", "rest", "--json"])  # fmt: skip
    (row,) = json.loads(capsys.readouterr().out)
    assert code == 0 and row["n_unknown"] > 0
    code = main(["compare", "--db", str(store.path), "--a", "traveller=Business", "--b",
                 "rest-all"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "n_unknown" in out and "left out" not in out


def test_bad_segments_say_how_to_write_them():
    with pytest.raises(FilterError, match='"cabin" appears twice'):
        Segment.parse(["cabin=First", "cabin=Business"], COLUMNS)
    with pytest.raises(FilterError, match="an empty value"):
        Segment.parse(["cabin=First|"], COLUMNS)
    assert Segment.parse(["cabin = First | Business"], COLUMNS).conditions == (
        ("cabin", ("First", "Business")),
    )
    assert Segment.parse(["REST-ALL"], COLUMNS) == Segment(rest=True, include_unknown=True)
    assert Segment.parse(["cabin=First|Business"], COLUMNS).label() == "cabin=First|Business"


def test_compare_cells_without_unknowns_is_unchanged():
    """Cells from a caller that never marks unknowns (e.g. trends): n_unknown is 0."""
    from cxdata.analysis.compare import compare_cells

    rng = np.random.default_rng(0)
    cells = pd.DataFrame({"stage": "S", "side": ["a"] * 40 + ["b"] * 40,
                          "score": rng.normal(size=80)})  # fmt: skip
    df = compare_cells(cells)
    assert df["n_unknown"].tolist() == [0] and df.attrs["n_unknown"] == 0
