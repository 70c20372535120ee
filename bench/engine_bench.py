"""Stage x touchpoint scores on both engines: DuckDB (the store) and Spark over the lake.

    python bench/engine_bench.py                                  # 1M and 10M, local[2]
    python bench/engine_bench.py --rows 1000000 --repeat 3
    python bench/engine_bench.py --rows 100000000 --skip-pandas  # as far as the disk allows

For each size: the generated store of ``bench/scoring_bench.py`` (one batch), synced to a
Parquet lake (``cxdata lake sync``; its time is reported), then ``stage_scores(engine,
["touchpoint"])`` timed on

- duckdb: the DuckDB engine over the store, kept open (warm), as the app's reruns;
- spark: the Spark engine over the lake, ``--master`` (default ``local[2]``: this 2-core
  machine), warm (the session started, the lake's views made, one call before);
- sql: the hand-written DuckDB query of ``scoring_bench`` on an open connection: the limit;
- pandas: the observations read into pandas once (not timed), merge + groupbys: the peer.

Then the segment comparison (``compare``: loyalty_tier=Gold vs everyone else, by stage) on
both engines, warm, checked equal (counts, and floats within 1e-9), best of ``--repeat``.

Every contender runs once untimed and its result is checked against the limit (same rows,
values within 1e-9); then ``--repeat`` interleaved rounds; best and median are reported with
the ratios, and the 1-minute load average before and after each size (the machine is
shared). Results go to ``bench/results/engine.json``.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

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
from scoring_bench import (
    PACKAGES,
    _cxdata,
    _sql,
    compare,
    generate_store,
    load_pandas,
    pandas_scores,
    private_copy,
    sql_queries,
)

from cxdata.analysis.compare import Segment
from cxdata.analysis.compare import compare as segment_compare
from cxdata.analysis.scoring import stage_scores
from cxdata.config import APP_KEEP_OPEN_S, Settings
from cxdata.engine import DuckDBEngine
from cxdata.engine.spark_engine import SparkEngine
from cxdata.store import Store
from cxdata.store.lake import sync_lake

SIZES = (1_000_000, 10_000_000)


def bench_size(db: Path, lake: Path, master: str, repeat: int, pandas: bool) -> dict[str, Any]:
    load_before = os.getloadavg()
    store = Store.open(Settings(keep_open_s=APP_KEEP_OPEN_S), db)
    shutil.rmtree(lake, ignore_errors=True)
    sync_seconds, synced = timed(lambda: sync_lake(store, lake))
    lake_mb = sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 2**20
    print(f"  lake sync {sync_seconds:.1f} s ({len(synced.written)} parts, {lake_mb:,.0f} MB)")
    spark_start, spark = timed(
        lambda: SparkEngine.from_settings(
            store.settings.replace(lake=str(lake), spark_master=master)
        )
    )
    limit_sql = next(iter(sql_queries("loyalty_tier")["touchpoint"].values()))
    runs: dict[str, Callable[[], tuple[float, pd.DataFrame]]] = {
        "duckdb": lambda: _cxdata(store, "touchpoint", warm=True),
        "spark": lambda: timed(lambda: stage_scores(spark, ["touchpoint"])),
        "sql": lambda: _sql(db, limit_sql, "loyalty_tier", {}),
    }
    store.turns().let_go()  # the sync's connection: the peer opens the file its own way
    if pandas:
        obs, attrs = load_pandas(db)
        runs["pandas"] = lambda: timed(lambda: pandas_scores(obs, attrs, "touchpoint"))
    first_seconds, first = {}, {}
    for name, fn in runs.items():
        first_seconds[name], first[name] = fn()
        print(f"  first call {name}: {first_seconds[name]:.2f} s", flush=True)
    for name, df in first.items():
        compare(f"{name} vs sql", df, first["sql"], "touchpoint")
    print("  results equal (values within 1e-9)")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeat):
        for name, fn in runs.items():
            gc.collect()
            times[name].append(fn()[0])
        print(f"  round {round_ + 1}: " + ", ".join(f"{n} {t[-1]:.2f}" for n, t in times.items()))
    found: dict[str, Any] = {name: best_median(t) for name, t in times.items()}
    found["spark_vs_duckdb"] = found["spark"]["best"] / found["duckdb"]["best"]
    found["duckdb_vs_sql"] = found["duckdb"]["best"] / found["sql"]["best"]
    found["spark_vs_sql"] = found["spark"]["best"] / found["sql"]["best"]
    if pandas:
        found["pandas_vs_duckdb"] = found["pandas"]["best"] / found["duckdb"]["best"]
        found["pandas_vs_spark"] = found["pandas"]["best"] / found["spark"]["best"]
    found["compare"] = _compare_both(DuckDBEngine(store), spark, repeat)
    found.update(
        lake_sync_seconds=sync_seconds,
        lake_mb=lake_mb,
        spark_engine_start_seconds=spark_start,
        spark_first_call_seconds=first_seconds["spark"],
        cells=len(first["duckdb"]),
        load_average={"before": load_before, "after": os.getloadavg()},
    )
    return found


def _compare_both(duck: DuckDBEngine, spark: SparkEngine, repeat: int) -> dict[str, Any]:
    """Gold vs everyone else on both engines: equal answers, then best of `repeat` each."""
    a, b = Segment((("loyalty_tier", "Gold"),)), Segment(rest=True)
    expected, got = segment_compare(duck, a, b), segment_compare(spark, a, b)
    assert expected["n_a"].tolist() == got["n_a"].tolist()
    for column in ("mean_a", "mean_b", "p_value"):
        x, y = expected[column].to_numpy(float), got[column].to_numpy(float)
        assert np.allclose(y, x, rtol=1e-9, atol=0, equal_nan=True), column
    times: dict[str, list[float]] = {"duckdb": [], "spark": []}
    for _ in range(repeat):
        for name, engine in (("duckdb", duck), ("spark", spark)):
            start = time.perf_counter()
            segment_compare(engine, a, b)
            times[name].append(time.perf_counter() - start)
    found: dict[str, Any] = {name: best_median(t) for name, t in times.items()}
    found["spark_vs_duckdb"] = found["spark"]["best"] / found["duckdb"]["best"]
    print("  compare (loyalty_tier=Gold vs everyone else), equal on both engines: "
          + ", ".join(f"{n} {found[n]['best']:.2f} s" for n in times)
          + f", spark/duckdb {found['spark_vs_duckdb']:.1f}x")  # fmt: skip
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="observations (repeat)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender")
    parser.add_argument("--master", default="local[2]", help="Spark master of the Spark engine")
    parser.add_argument("--skip-pandas", action="store_true", help="no pandas peer (memory)")
    add_paths(parser, RESULTS / "engine.json", "folder for generated stores and lakes")
    args = parser.parse_args(argv)
    info = machine({**PACKAGES, "pyspark": "pyspark"})
    command = command_line(__file__, argv)
    print_header(command, info, {"DuckDB": "duckdb", "Ibis": "ibis", "PySpark": "pyspark"})
    sizes: dict[str, Any] = {}
    for rows in args.rows or SIZES:
        start = time.perf_counter()
        db = generate_store(rows, args.work)
        print(f"\n{rows:,} observations: store {db} (ready in {time.perf_counter() - start:.1f} s)")
        with private_copy(db) as copy:
            found = bench_size(copy, args.work / f"lake_{rows}", args.master, args.repeat,
                               not args.skip_pandas)  # fmt: skip
        sizes[str(rows)] = found
        load = found["load_average"]
        print(
            f"  best: duckdb {found['duckdb']['best']:.2f} s, spark {found['spark']['best']:.2f} s "
            f"(spark/duckdb {found['spark_vs_duckdb']:.1f}x), sql {found['sql']['best']:.2f} s"
            + (f", pandas {found['pandas']['best']:.2f} s" if "pandas" in found else "")
            + f"; load average {load['before'][0]:.1f} before, {load['after'][0]:.1f} after"
        )
        warn_if_busy(load["before"], load["after"])
    report = {
        "benchmark": "engine",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "master": args.master,
        "repeat": args.repeat,
        "machine": info,
        "sizes": sizes,
    }
    write_json(args.out, report)
    print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
