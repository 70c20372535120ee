"""The unit rule's cost: stage scores before and after "double-coded units count once",
beside the pandas peer and the raw DuckDB limit.

    python bench/units_bench.py                   # 1M observations, 3 timed rounds
    python bench/units_bench.py --rows 200000 --repeat 2

Two stores (the 1M store of ``scoring_bench.generate_store``, whose observer is fixed per
customer: no double coding; and a private copy in which 10% of the units get a second
observer, the same interaction scored one point apart):

- before: today's path, ``score_expr(..., double_coding=False)`` plus the pandas finish
  (what ``stage_scores`` ran before the rule);
- after: ``stage_scores`` as it runs now (the once-per-data-version check is cached after
  the first call; the check's own cost, paid once per data version, is timed apart:
  ``check``);
- pandas: the observations read into a DataFrame once (not timed), then the rule and two
  groupbys, as an analyst would write it (the peer);
- sql: hand-written DuckDB on an open connection (the limit).

Results: terminal and ``bench/results/units.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from _common import RESULTS, WORK, best_median, command_line, machine, print_header, timed
from _common import write_json as write_results
from scoring_bench import generate_store

from cxdata.analysis import units
from cxdata.analysis.filters import NO_FILTERS
from cxdata.analysis.scoring import finish, score_expr, stage_scores
from cxdata.config import Settings
from cxdata.engine import DuckDBEngine
from cxdata.store import Store

SQL_SUMS = """SELECT stage, count(*) n, avg(score) mean FROM (
    SELECT customer_id, stage, sum(score) score FROM observations GROUP BY ALL) GROUP BY stage"""
SQL_RULE = """SELECT stage, count(*) n, avg(score) mean FROM (
    SELECT customer_id, stage, sum(s) score FROM (
        SELECT customer_id, stage, sum(score) / count(DISTINCT coalesce(observer, '')) s
        FROM observations GROUP BY customer_id, stage, touchpoint, interaction)
    GROUP BY ALL) GROUP BY stage"""
DOUBLE = """INSERT INTO observations
    SELECT batch_id, source_row + 100000000, observation_id || '-b', customer_id, study, stage,
           touchpoint, channel, interaction, method, 'OBS-second', note,
           least(score + 1, 3), observed_at
    FROM observations WHERE hash(observation_id) % 10 = 0"""


def before(engine: DuckDBEngine) -> pd.DataFrame:
    with engine.ibis() as backend:
        df = score_expr(backend, [], NO_FILTERS, double_coding=False).to_pandas()
        order = engine.stage_order(df["stage"].unique())
    return finish(df, [], order, engine.settings)


def pandas_rule(obs: pd.DataFrame) -> pd.DataFrame:
    keys = ["customer_id", "stage", "touchpoint", "interaction"]
    filled = obs.assign(observer=obs["observer"].fillna(""))
    per = filled.groupby(keys, dropna=False).agg(score=("score", "sum"), k=("observer", "nunique"))
    per["score"] = per["score"] / per["k"]
    cells = per.groupby(["customer_id", "stage"])["score"].sum().reset_index()
    return cells.groupby("stage")["score"].agg(["count", "mean"])


def round_of(db: Path, repeat: int, label: str) -> dict[str, Any]:
    store = Store.open(Settings(keep_open_s=60.0), db)
    engine = DuckDBEngine(store)
    with store.connect() as con:
        obs = con.execute(
            "SELECT customer_id, stage, touchpoint, interaction, observer, score FROM observations"
        ).df()
    contenders = {
        "before": lambda: before(engine),
        "after": lambda: stage_scores(engine),
        "check": lambda: units.has_double_coding_of(engine),
        "pandas": lambda: pandas_rule(obs),
    }
    sql = SQL_RULE if label == "double-coded" else SQL_SUMS
    out: dict[str, Any] = {}
    want = stage_scores(engine).set_index("stage")
    got = pandas_rule(obs)
    assert (got["mean"] - want["mean_score"]).abs().max() < 1e-9, "pandas and cxdata differ"
    times: dict[str, list[float]] = {k: [] for k in [*contenders, "sql"]}
    with store.connect() as raw:
        raw.execute(sql).fetchall()
        for _ in range(repeat):
            for name, fn in contenders.items():
                times[name].append(timed(fn)[0])
            times["sql"].append(timed(lambda: raw.execute(sql).fetchall())[0])
    for name, ts in times.items():
        out[name] = best_median(ts)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    command = command_line(__file__, argv)
    info = machine({"duckdb": "duckdb", "ibis": "ibis-framework"})
    print_header(command, info, {"DuckDB": "duckdb", "Ibis": "ibis"})
    cached = generate_store(args.rows, WORK)
    folder = Path(tempfile.mkdtemp(prefix="units-", dir=WORK))
    report: dict[str, Any] = {"command": command, "machine": info, "rows": args.rows}
    try:
        single, double = folder / "single.duckdb", folder / "double.duckdb"
        shutil.copyfile(cached, single)
        shutil.copyfile(cached, double)
        with duckdb.connect(str(double)) as con:
            con.execute(DOUBLE)
        for label, db in (("single-coded", single), ("double-coded", double)):
            found = round_of(db, args.repeat, label)
            report[label] = found
            b, a, s = (found[k]["best"] for k in ("before", "after", "sql"))
            print(
                f"{label}: before {b:.3f} s, after {a:.3f} s ({a / b:.2f}x before), "
                f"check once per data version {found['check']['best']:.3f} s, "
                f"pandas {found['pandas']['best']:.3f} s ({found['pandas']['best'] / a:.1f}x "
                f"after), raw DuckDB {s:.3f} s (after {a / s:.2f}x the limit)",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_results(RESULTS / "units.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
