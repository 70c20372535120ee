"""Segment comparison over a store of N observations (default 1M): cxdata.analysis.compare against
its peer (pandas: load the observations, groupby, the same scipy tests) and its limit (the
per-customer cell scores in hand-written DuckDB SQL, then the same scipy tests).

Target: the comparison of two segments over 1M observations returns in under 2 s.
Usage: python bench/compare_bench.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys

import duckdb
import pandas as pd
from _common import RESULTS, best_median, machine, timed, write_json
from scoring_bench import PACKAGES, generate_store

from cxdata.analysis.compare import Segment, compare, compare_cells
from cxdata.config import Settings
from cxdata.store import Store

SQL = """
    SELECT o.customer_id, o.stage, sum(o.score) AS score,
           CASE WHEN a.value = 'Gold' THEN 'a' ELSE 'b' END AS side
    FROM observations o JOIN customer_attributes a
      ON a.customer_id = o.customer_id AND a.name = 'loyalty_tier'
    GROUP BY ALL"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = generate_store(args.rows)
    store = Store.open(Settings(), db)
    a, b = Segment((("loyalty_tier", "Gold"),)), Segment(rest=True)
    order = store.stage_order()

    def via_cxdata() -> pd.DataFrame:
        return compare(store, a, b)

    def via_sql() -> pd.DataFrame:
        with duckdb.connect(str(db), read_only=True) as con:
            cells = con.execute(SQL).df()
        return compare_cells(cells, "stage", 30, order)

    obs: pd.DataFrame  # loaded below, before via_pandas runs
    attrs: pd.DataFrame

    def via_pandas() -> pd.DataFrame:
        tier = attrs[attrs["name"] == "loyalty_tier"][["customer_id", "value"]]
        cells = obs.groupby(["customer_id", "stage"], as_index=False)["score"].sum()
        cells = cells.merge(tier, on="customer_id")
        cells["side"] = (cells["value"] == "Gold").map({True: "a", False: "b"})
        return compare_cells(cells, "stage", 30, order)

    load, (obs, attrs) = timed(lambda: (
        store.query_df("SELECT customer_id, stage, score FROM observations"),
        store.query_df("SELECT customer_id, name, value FROM customer_attributes"),
    ))  # fmt: skip
    results = {}
    for name, fn in (("cxdata", via_cxdata), ("sql", via_sql), ("pandas", via_pandas)):
        times, out = [], None
        for _ in range(args.repeat):
            seconds, out = timed(fn)
            times.append(seconds)
        results[name] = {**best_median(times), "rows": out}
    want = results["sql"]["rows"].set_index("stage")
    for name in ("cxdata", "pandas"):
        got = results[name]["rows"].set_index("stage")
        pd.testing.assert_series_equal(got["diff"], want["diff"], check_exact=False, rtol=1e-9)
        assert list(got["n_a"]) == list(want["n_a"])
    print(
        f"compare loyalty_tier=Gold vs everyone else, {args.rows:,} observations "
        f"(best of {args.repeat}); pandas also needs {load:.2f} s to load the data"
    )
    print(f"{'contender':10} {'best s':>8} {'median s':>9} {'x SQL':>7}")
    for name, r in results.items():
        ratio = r["best"] / results["sql"]["best"]
        print(f"{name:10} {r['best']:8.3f} {r['median']:9.3f} {ratio:7.2f}")
    met = results["cxdata"]["best"] < 2.0
    print(f"target: under 2 s at 1M observations -> {'met' if met else 'MISSED'}")
    write_json(RESULTS / "compare.json", {
        "rows": args.rows, "machine": machine(PACKAGES), "pandas_load_seconds": load,
        **{k: {"best": v["best"], "median": v["median"]} for k, v in results.items()},
    })  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
