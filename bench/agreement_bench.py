"""Observer agreement at scale: `cxdata agreement` over 1M observations of which 10% are
double-coded, beside the pandas peer and the raw DuckDB limit.

    python bench/agreement_bench.py                  # 1M observations, 2 timed rounds
    python bench/agreement_bench.py --rows 200000 --repeat 1

The store is the 1M store of ``scoring_bench.generate_store`` (one observer per customer)
plus a second observer's re-code of 10% of the observations (score + 1, capped at 3), so
~10% of the units are double-coded. Contenders:

- cxdata: ``agreement(engine)``: the per unit x observer query in the engine, then alpha,
  its bootstrap (1,000 resamples) overall and per stage, percent agreement, AC1, observer
  bias, the largest disagreements; ``extract`` is its engine query alone
  (``observer_values``);
- pandas (peer): the observations read once (not timed), the same per unit x observer
  table by groupby, a units x observers pivot and ``krippendorff.alpha`` once (the point
  estimate only: no interval, no per-stage figures, no bias);
- sql (limit): the per unit x observer sums of the double-coded units in hand-written
  DuckDB on an open connection (the engine part's limit).

Results: terminal and ``bench/results/agreement.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import krippendorff
from _common import RESULTS, WORK, best_median, command_line, machine, print_header, timed
from _common import write_json as write_results
from scoring_bench import generate_store
from units_bench import DOUBLE

from cxdata.analysis.agreement import agreement, observer_values
from cxdata.config import Settings
from cxdata.engine import DuckDBEngine
from cxdata.store import Store

SQL = """SELECT * FROM (
    SELECT customer_id, stage, touchpoint, interaction, observer, sum(score) AS value,
           count(*) OVER (PARTITION BY customer_id, stage, touchpoint, interaction) AS k
    FROM observations GROUP BY customer_id, stage, touchpoint, interaction, observer)
WHERE k >= 2"""


def pandas_alpha(obs: Any) -> float:
    keys = ["customer_id", "stage", "touchpoint", "interaction"]
    per = obs.groupby([*keys, "observer"], dropna=False)["score"].sum().reset_index()
    per = per[per.groupby(keys, dropna=False)["score"].transform("count") >= 2]
    matrix = per.pivot_table(index="observer", columns=keys, values="score")
    return float(
        krippendorff.alpha(reliability_data=matrix.to_numpy(), level_of_measurement="interval")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    command = command_line(__file__, argv)
    info = machine({"duckdb": "duckdb", "krippendorff": "krippendorff"})
    print_header(command, info, {"DuckDB": "duckdb", "krippendorff": "krippendorff"})
    cached = generate_store(args.rows, WORK)
    folder = Path(tempfile.mkdtemp(prefix="agreement-", dir=WORK))
    report: dict[str, Any] = {"command": command, "machine": info, "rows": args.rows}
    try:
        db = folder / "double.duckdb"
        shutil.copyfile(cached, db)
        with duckdb.connect(str(db)) as con:
            con.execute(DOUBLE)
            total = con.execute("SELECT count(*) FROM observations").fetchone()
        store = Store.open(Settings(keep_open_s=60.0), db)
        engine = DuckDBEngine(store)
        with store.connect() as con:
            obs = con.execute("SELECT customer_id, stage, touchpoint, interaction, observer, "
                              "score FROM observations").df()  # fmt: skip
        first = agreement(engine)
        assert abs(first.overall["alpha"] - pandas_alpha(obs)) < 1e-9, "alpha differs"
        times: dict[str, list[float]] = {"cxdata": [], "extract": [], "pandas": [], "sql": []}
        with store.connect() as raw:
            raw.execute(SQL).fetchall()
            for _ in range(args.repeat):
                times["cxdata"].append(timed(lambda: agreement(engine))[0])
                times["extract"].append(timed(lambda: observer_values(engine))[0])
                times["pandas"].append(timed(lambda: pandas_alpha(obs))[0])
                times["sql"].append(timed(lambda: raw.execute(SQL).fetchall())[0])
        found = {k: best_median(v) for k, v in times.items()}
        o = first.overall
        report |= {"observations": total[0] if total else None, "units": o["units"],
                   "values": o["values"], "alpha": o["alpha"], "timings": found}  # fmt: skip
        c, e, p, s = (found[k]["best"] for k in ("cxdata", "extract", "pandas", "sql"))
        print(f"{report['observations']:,} observations, {o['units']:,} double-coded units, "
              f"alpha {o['alpha']:.3f} [{o['ci_low']:.3f}, {o['ci_high']:.3f}]")  # fmt: skip
        print(f"cxdata agreement (alpha + 1,000-resample bootstrap overall and per stage, bias, "
              f"disagreements): {c:.2f} s; its engine query {e:.2f} s vs raw DuckDB {s:.2f} s "
              f"({e / s:.2f}x the limit); pandas + krippendorff, alpha only, no interval: "
              f"{p:.2f} s")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_results(RESULTS / "agreement.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
