"""Priorities over a large store: relative weights with a bootstrap, beside the Spearman
method they replaced, their peer (pandas) and their limit (hand SQL).

    python bench/priorities_bench.py                  # 1M observations, 2 timed rounds
    python bench/priorities_bench.py --repeat 3 --level touchpoint

The store is scoring_bench's generated one (~rows/12 customers, 6 stages, 24 touchpoints,
an nps outcome per customer), on a private copy. Contenders, per level (stage: 6 items;
touchpoint: 24 items):

- cxdata: ``cxdata.analysis.priorities.priorities`` as the CLI calls it: the cell read
  (Ibis over DuckDB: customers counted per cell, score and outcome, and one row per
  customer for at most 50,000 customers with an outcome, a seeded sample beyond), then
  Johnson's relative weights with 200 seeded bootstrap resamples, the Spearman column,
  quadrants and rank. Its two parts are timed apart;
- cxdata_all: the same with every customer in the relative weights (no sample): the
  reference the peers' importance is checked against;
- cxdata_logistic: the same for a yes/no outcome (loyalty_tier = Gold): a logistic model,
  whose resamples take one Newton step each from the full fit at this size;
- before: the method this replaced, Spearman's rho per cell and the median split, on the
  same read (the code of the previous priorities.py, replicated here): what priorities
  cost before issue 15;
- sql: the limit of the read: one hand-written DuckDB query for the customer x cell scores
  with the outcome, on an open connection, then the same statistics
  (``importance_performance``);
- pandas: the observations and the outcome read into DataFrames once (load time reported
  apart), groupby + merge as an analyst would write it, then the same statistics.

Every contender runs once untimed (its importance is checked against cxdata_all's to 1e-9),
then ``--repeat`` interleaved rounds; best and median are reported, with ratios to cxdata.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from _common import (
    RESULTS,
    add_paths,
    best_median,
    command_line,
    machine,
    print_header,
    timed,
    warn_if_busy,
    write_json,
)
from scipy import stats
from scoring_bench import PACKAGES, generate_store, private_copy

from cxdata.analysis.priorities import (
    CustomerCells,
    classify,
    customer_cells,
    importance_performance,
    priorities,
)
from cxdata.config import Settings
from cxdata.store import Store

TOLERANCE = 1e-9


def before(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The previous method: Spearman's rho per cell, quadrants at the medians."""
    rows = []
    for key, group in cells.groupby(keys, sort=False):
        both = group.dropna(subset=["y"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.ConstantInputWarning)
            rho = float(stats.spearmanr(both["score"], both["y"]).statistic)
        key = key if isinstance(key, tuple) else (key,)
        rows.append((*key, group["score"].mean(), len(group), rho, len(both)))
    table = pd.DataFrame(rows, columns=[*keys, "performance", "n", "importance", "n_outcome"])
    return classify(table)


def sql_cells(store: Store, level: str) -> pd.DataFrame:
    """The limit's read: per customer and cell the summed score, with the mean nps, on
    the store's own DuckDB connection (its configuration)."""
    by = "stage" if level == "stage" else "stage, touchpoint"
    with store.connect() as con:
        return _sql(con, by, level)


def _sql(con: duckdb.DuckDBPyConnection, by: str, level: str) -> pd.DataFrame:
    return con.execute(
        f"""SELECT c.*, y.y FROM (
                SELECT customer_id, {by}, sum(score) AS score FROM observations
                WHERE {"touchpoint IS NOT NULL" if level != "stage" else "true"}
                GROUP BY ALL) c
            LEFT JOIN (SELECT customer_id, avg(number) AS y FROM customer_attributes
                       WHERE name = 'nps' AND number IS NOT NULL GROUP BY ALL) y
            USING (customer_id)"""  # noqa: S608 (constants only)
    ).df()


def pandas_cells(obs: pd.DataFrame, nps: pd.DataFrame, level: str) -> pd.DataFrame:
    by = ["stage"] if level == "stage" else ["stage", "touchpoint"]
    cells = obs.dropna(subset=by).groupby(["customer_id", *by], as_index=False)["score"].sum()
    y = nps.groupby("customer_id", as_index=False)["number"].mean().rename(columns={"number": "y"})
    return cells.merge(y, on="customer_id", how="left")


def _keys(level: str) -> list[str]:
    return ["stage"] if level == "stage" else ["touchpoint", "stage"]


def _importance(df: pd.DataFrame, level: str) -> pd.Series:
    return df.set_index(_keys(level))["importance"].sort_index()


def run(rows: int, repeat: int, levels: list[str], work: Path) -> dict[str, Any]:
    source = generate_store(rows, work)
    results: dict[str, Any] = {}
    with private_copy(source) as path:
        store = Store.open(Settings(), path)

        def read_pandas() -> tuple[pd.DataFrame, pd.DataFrame]:
            with store.connect() as con:
                obs = con.execute(
                    "SELECT customer_id, stage, touchpoint, score FROM observations"
                ).df()
                nps = con.execute("SELECT customer_id, number FROM customer_attributes "
                                  "WHERE name = 'nps'").df()  # fmt: skip
                return obs, nps

        load, (obs, nps) = timed(read_pandas)
        print(f"pandas load (not in the ratios): {load:.2f} s", flush=True)
        for level in levels:
            keys = _keys(level)

            def read_cxdata(level: str = level) -> CustomerCells:
                return customer_cells(store, "nps", level=level)[0]  # type: ignore[arg-type]

            read_once = read_cxdata()
            contenders = {
                "cxdata": lambda level=level: priorities(store, "nps", level=level),
                "cxdata_all": lambda level=level: priorities(
                    store, "nps", level=level, limit=2**62
                ),
                "cxdata_logistic": lambda level=level: priorities(
                    store, "loyalty_tier", positive="Gold", level=level
                ),
                "cxdata_read": read_cxdata,
                "cxdata_statistics": lambda cells=read_once, keys=keys: importance_performance(
                    cells, keys
                ),
                # one row per customer, as the previous method read them
                "before": lambda level=level, keys=keys: before(sql_cells(store, level), keys),
                "sql": lambda level=level, keys=keys: importance_performance(
                    sql_cells(store, level), keys
                ),
                "pandas": lambda level=level, keys=keys: importance_performance(
                    pandas_cells(obs, nps, level), keys
                ),
            }
            reference = _importance(contenders["cxdata_all"](), level)
            for name in ("sql", "pandas"):
                got = _importance(contenders[name](), level)
                gap = float(np.max(np.abs(got.to_numpy() - reference.to_numpy())))
                assert gap <= TOLERANCE, f"{name} differs from cxdata by {gap}"
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(repeat):
                for name, fn in contenders.items():
                    times[name].append(timed(fn)[0])
            summary = {name: best_median(t) for name, t in times.items()}
            results[level] = summary
            base = summary["cxdata"]["best"]
            print(f"\n{level} ({len(reference)} items), seconds, best (median) of {repeat}:")
            for name, s in summary.items():
                print(f"  {name:<18} {s['best']:8.2f} ({s['median']:.2f})  "
                      f"{s['best'] / base:5.2f}x cxdata")  # fmt: skip
    return {"load_pandas_s": load, "levels": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--level", choices=["stage", "touchpoint", "both"], default="both")
    add_paths(parser, RESULTS / "priorities.json", "generated stores (cached)")
    args = parser.parse_args(argv)
    command = command_line(__file__, argv)
    info = machine(PACKAGES)
    print_header(command, info, {"DuckDB": "duckdb", "pandas": "pandas"})
    levels = ["stage", "touchpoint"] if args.level == "both" else [args.level]
    load_before = os.getloadavg()
    report = run(args.rows, args.repeat, levels, args.work)
    warn_if_busy(load_before, os.getloadavg())
    write_json(args.out, {"command": command, "machine": info, "rows": args.rows, **report})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
