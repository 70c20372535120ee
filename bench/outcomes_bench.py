"""Outcome KPIs and trends over a large store, beside their peer (pandas) and their limit
(hand-written DuckDB SQL).

    python bench/outcomes_bench.py                    # 1M observations, 3 timed rounds
    python bench/outcomes_bench.py --rows 10000000 --repeat 2

Two questions the app asks:

- NPS by loyalty tier: ``outcome_kpis(engine, "loyalty_tier")`` (kind detection, customers
  observed, tier joined with "(unknown)", each customer's mean answer, promoters and
  detractors per tier, adjusted-Wald intervals);
- net experience per stage and month: ``net_trend(engine, "observed_month")``.

Contenders on a private copy of the cached store of bench/scoring_bench.py: cxdata (the
store kept open, warm, as the app's reruns call it), sql (the same numbers by hand on an
open DuckDB connection: the limit) and pandas (the tables read once, load time reported
apart, then merges and groupbys: the peer). Every contender's result is checked against
cxdata's (same rows, values within 1e-9) before timing; rounds interleave the contenders.
"""

from __future__ import annotations

import argparse
from typing import Any

import _common as common
import duckdb
import numpy as np
import pandas as pd
from scoring_bench import generate_store, private_copy

from cxdata.analysis.outcomes import outcome_kpis
from cxdata.analysis.trends import net_trend
from cxdata.config import Settings
from cxdata.engine import DuckDBEngine
from cxdata.store import Store

NPS_SQL = """
WITH c AS (SELECT DISTINCT customer_id FROM observations),
t AS (SELECT DISTINCT customer_id, value AS tier FROM customer_attributes
      WHERE name = 'loyalty_tier'),
y AS (SELECT customer_id, avg(number) AS y FROM customer_attributes
      WHERE name = 'nps' AND number IS NOT NULL GROUP BY customer_id)
SELECT coalesce(t.tier, '(unknown)') AS loyalty_tier, count(y.y) AS n,
       100.0 * (count_if(y.y >= 9) - count_if(y.y <= 6)) / count(y.y) AS value
FROM c LEFT JOIN t USING (customer_id) LEFT JOIN y USING (customer_id) GROUP BY 1"""

TREND_SQL = """
WITH cells AS (
  SELECT customer_id, stage, coalesce(strftime(observed_at, '%Y-%m'), '(none)') AS m,
         sum(score) AS s
  FROM observations GROUP BY ALL)
SELECT stage, m AS observed_month, count(*) AS n_customers,
       avg(sign(s)) AS net_experience FROM cells GROUP BY ALL"""


def pandas_nps(obs: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    customers = pd.DataFrame({"customer_id": obs["customer_id"].unique()})
    tier = attrs[attrs["name"] == "loyalty_tier"][["customer_id", "value"]].drop_duplicates()
    answers = attrs[(attrs["name"] == "nps") & attrs["number"].notna()]
    y = answers.groupby("customer_id", as_index=False)["number"].mean()
    df = customers.merge(tier, on="customer_id", how="left").merge(y, on="customer_id", how="left")
    df["loyalty_tier"] = df["value"].fillna("(unknown)")
    df["pro"], df["det"] = df["number"] >= 9, df["number"] <= 6
    g = df.groupby("loyalty_tier").agg(n=("number", "count"), pro=("pro", "sum"),
                                       det=("det", "sum"))  # fmt: skip
    g["value"] = 100.0 * (g["pro"] - g["det"]) / g["n"]
    return g.reset_index()[["loyalty_tier", "n", "value"]]


def pandas_trend(obs: pd.DataFrame) -> pd.DataFrame:
    month = obs["observed_at"].dt.strftime("%Y-%m").fillna("(none)")
    cells = (
        obs.assign(observed_month=month)
        .groupby(["customer_id", "stage", "observed_month"], as_index=False)["score"]
        .sum()
    )
    cells["sign"] = np.sign(cells["score"])
    g = cells.groupby(["stage", "observed_month"], as_index=False).agg(
        n_customers=("sign", "size"), net_experience=("sign", "mean")
    )
    return g


def same(name: str, got: pd.DataFrame, want: pd.DataFrame, keys: list[str], cols: list[str]):
    a = got.set_index(keys)[cols].sort_index()
    b = want.set_index(keys)[cols].sort_index()
    if list(a.index) != list(b.index) or not np.allclose(a.to_numpy(float), b.to_numpy(float),
                                                         atol=1e-9, equal_nan=True):  # fmt: skip
        raise SystemExit(f"{name}: result differs from cxdata's")


def bench(db: Any, raw: Any, repeat: int) -> dict[str, Any]:
    """`db` for cxdata (its store keeps the file open with its configuration), `raw` (a
    second copy) for the hand SQL and the pandas read."""
    store = Store.open(Settings(keep_open_s=600.0), db)
    engine = DuckDBEngine(store)
    con = duckdb.connect(str(raw), read_only=True)
    load, (obs, attrs) = common.timed(lambda: (
        con.execute("SELECT customer_id, stage, score, observed_at FROM observations").df(),
        con.execute("SELECT customer_id, name, value, number FROM customer_attributes").df(),
    ))  # fmt: skip
    tasks = {
        "nps_by_tier": {
            "cxdata": lambda: outcome_kpis(engine, "loyalty_tier", outcomes=["nps"]),
            "sql": lambda: con.execute(NPS_SQL).df(),
            "pandas": lambda: pandas_nps(obs, attrs),
            "check": (["loyalty_tier"], ["n", "value"]),
        },
        "net_by_stage_month": {
            "cxdata": lambda: net_trend(engine, "observed_month"),
            "sql": lambda: con.execute(TREND_SQL).df(),
            "pandas": lambda: pandas_trend(obs),
            "check": (["stage", "observed_month"], ["n_customers", "net_experience"]),
        },
    }
    found: dict[str, Any] = {"pandas_load_s": load}
    for task, runs in tasks.items():
        keys, cols = runs["check"]
        want = runs["cxdata"]()
        for name in ("sql", "pandas"):
            same(f"{task}/{name}", runs[name](), want, keys, cols)
        times: dict[str, list[float]] = {n: [] for n in ("cxdata", "sql", "pandas")}
        for _ in range(repeat):
            for name in times:
                times[name].append(common.timed(runs[name])[0])
        found[task] = {n: common.best_median(t) for n, t in times.items()}
    con.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds")
    args = parser.parse_args(argv)
    print(common.command_line(__file__, argv))
    path = generate_store(args.rows)
    with private_copy(path) as db, private_copy(path) as raw:
        found = bench(db, raw, args.repeat)
    print(f"pandas load (not in the ratios): {found['pandas_load_s']:.2f} s")
    print(f"{'task':<20} {'cxdata':>8} {'sql':>8} {'pandas':>8} {'cx/sql':>7} {'pandas/cx':>9}")
    for task in ("nps_by_tier", "net_by_stage_month"):
        best = {n: found[task][n]["best"] for n in ("cxdata", "sql", "pandas")}
        cx, sql, pd_ = best["cxdata"], best["sql"], best["pandas"]
        print(f"{task:<20} {cx:>8.3f} {sql:>8.3f} {pd_:>8.3f} {cx / sql:>7.2f} {pd_ / cx:>9.2f}")
    common.write_json(common.RESULTS / "outcomes.json", {"rows": args.rows, **found})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
