"""Validated ingest of a generated CSV observation log, beside its peer and its limit.

    python bench/ingest_bench.py                      # 1M and 10M rows
    python bench/ingest_bench.py --rows 100000        # a quick check
    python bench/ingest_bench.py --rows 1000000 --repeat 3
    python bench/ingest_bench.py --layout narrow --rows 4000000 10000000 --repeat 3

Three contenders load the same CSV into a fresh DuckDB file, each in its own fresh
Python process (so its peak memory is its own):

- cxdata: ``cxdata.ingest.ingest_file`` (stage, map, validate every row, write one batch);
- pandas: ``pandas.read_csv`` then ``CREATE TABLE ... AS SELECT * FROM df`` (the peer);
- duckdb: ``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` (the limit).

Two layouts of the log (``--layout``, both by default): ``wide`` (16 columns: every
canonical column, four attributes and an NPS outcome; ~15 observations per customer) and
``narrow`` (10 columns, as most observation logs are: observation_id, customer_id, stage,
touchpoint, channel, score, observed_at, observer, age, region; ~20 observations per
customer). With ``--repeat N`` the contenders run in alternating rounds (limit, cxdata,
pandas); the table shows each contender's best run and the median of the rounds'
cxdata/limit ratios (each ratio from one round, so drift on a shared machine cancels).

Time is measured inside the child around the work only (open, load, close; not the
interpreter start-up or imports); CPU seconds (all threads, user + system) are measured
around the same work, since on a shared machine they move less than wall time. Peak memory
is the child's own high-water mark (VmHWM). The cxdata child also checks every stored
source_row and the attribute rows. Results go to the terminal and to
``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    add_paths,
    command_line,
    cpu_seconds,
    fastest,
    machine,
    peak_mib,
    print_header,
    write_json,
)
from _vocabulary import (
    AGE_BANDS,
    CHANNELS,
    METHODS,
    NOTES,
    REGIONS,
    STAGES,
    STUDIES,
    TIERS,
    TOUCHPOINTS,
    sql_list,
)

CONTENDERS = ("cxdata", "pandas", "duckdb")
LIMIT, PEER, OURS = "duckdb", "pandas", "cxdata"
TARGET_RATIO = {"wide": 1.3, "narrow": 2.0}
"""The standing goal for the wide log (issue 2); the next step for narrow logs (issue 17)."""
TARGET_MEMORY_ROWS = 10_000_000
TARGET_MEMORY_MB = 1536.0  # 1.5 GiB


# -- the CSV -------------------------------------------------------------------------------


LAYOUTS = ("wide", "narrow")
PER_CUSTOMER = {"wide": 15, "narrow": 20}
"""Observations per customer in each layout."""
ATTRIBUTE_COLUMNS = {
    "wide": ("age_band", "region", "loyalty_tier", "nps"),
    "narrow": ("age", "region"),
}
"""The columns stored per customer (attributes and outcomes) in each layout."""


def csv_path(rows: int, folder: Path, layout: str = "wide") -> Path:
    suffix = "" if layout == "wide" else f"_{layout}"
    return folder / f"observations{suffix}_{rows}.csv"


def ensure_csv(rows: int, folder: Path, layout: str = "wide") -> Path:
    """The observation log with `rows` rows: reused if present, else generated in a child
    process (the parent stays small: it imports neither DuckDB nor pandas)."""
    path = csv_path(rows, folder, layout)
    if not path.exists():
        cmd = [sys.executable, str(Path(__file__).resolve()), "--generate", str(rows)]
        cmd += ["--layout", layout, "--work", str(folder)]
        subprocess.run(cmd, check=True)  # noqa: S603
    return path


def _customers(rows: int, layout: str) -> int:
    return max(1, rows // PER_CUSTOMER[layout])


def generate_csv(rows: int, folder: Path, layout: str = "wide") -> Path:
    """Write the observation log with `rows` rows with DuckDB (fast, parallel)."""
    path = csv_path(rows, folder, layout)
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    customers = _customers(rows, layout)
    query = (_wide_query if layout == "wide" else _narrow_query)(rows, customers)
    partial = path.with_suffix(".partial.csv")
    con = duckdb.connect()
    try:
        con.execute(f"COPY ({query}) TO '{partial}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    partial.rename(path)
    return path


def _narrow_query(rows: int, customers: int) -> str:
    """Ten columns, one ISO timestamp, two attributes that depend on the customer only."""
    touchpoints = [tp for per_stage in TOUCHPOINTS for tp in per_stage]
    return f"""
        SELECT
            'O-' || lpad(CAST(i AS VARCHAR), 10, '0') AS observation_id,
            'C' || lpad(CAST(c AS VARCHAR), 8, '0') AS customer_id,
            {sql_list(STAGES)}[i % 6 + 1] AS stage,
            {sql_list(touchpoints)}[(i % 6) * 4 + CAST(h % 4 AS BIGINT) + 1] AS touchpoint,
            {sql_list(CHANNELS)}[CAST((h >> 8) % 5 AS BIGINT) + 1] AS channel,
            CAST((h >> 24) % 7 AS BIGINT) - 3 AS score,
            strftime(TIMESTAMP '2026-01-01 08:00:00'
                     + to_seconds(CAST((h >> 32) % 31536000 AS BIGINT)),
                     '%Y-%m-%dT%H:%M:%S') AS observed_at,
            'OBS-' || lpad(CAST(c % 40 AS VARCHAR), 2, '0') AS observer,
            18 + c % 60 AS age,
            {sql_list(REGIONS)}[(c // 6) % 5 + 1] AS region
        FROM (SELECT range AS i, range % {customers} AS c, hash(range) AS h
              FROM range({rows}))
        ORDER BY i"""  # noqa: S608 (constants only)


def _wide_query(rows: int, customers: int) -> str:
    touchpoints = [tp for per_stage in TOUCHPOINTS for tp in per_stage]
    # i % customers: every customer has ~15 observations scattered through the file, and
    # its attributes depend on the customer only (one value per customer and attribute).
    return f"""
        SELECT
            'O-' || lpad(CAST(i AS VARCHAR), 10, '0') AS observation_id,
            'C' || lpad(CAST(c AS VARCHAR), 8, '0') AS customer_id,
            {sql_list(STUDIES)}[c % 3 + 1] AS study,
            {sql_list(STAGES)}[i % 6 + 1] AS stage,
            {sql_list(touchpoints)}[(i % 6) * 4 + CAST(h % 4 AS BIGINT) + 1] AS touchpoint,
            {sql_list(CHANNELS)}[CAST((h >> 8) % 5 AS BIGINT) + 1] AS channel,
            'I-' || (i % 6) || '-' || CAST((h >> 16) % 40 AS BIGINT) AS interaction,
            CAST((h >> 24) % 7 AS BIGINT) - 3 AS score,
            strftime(TIMESTAMP '2026-01-01 08:00:00'
                     + to_seconds(CAST((h >> 32) % 31536000 AS BIGINT)),
                     '%Y-%m-%dT%H:%M:%S') AS observed_at,
            {sql_list(METHODS)}[c % 4 + 1] AS method,
            'OBS-' || lpad(CAST(c % 40 AS VARCHAR), 2, '0') AS observer,
            {sql_list(NOTES)}[CAST((h >> 40) % 10 AS BIGINT) + 1] AS note,
            {sql_list(AGE_BANDS)}[c % 6 + 1] AS age_band,
            {sql_list(REGIONS)}[(c // 6) % 5 + 1] AS region,
            {sql_list(TIERS)}[(c // 30) % 4 + 1] AS loyalty_tier,
            (c * 7) % 11 AS nps
        FROM (SELECT range AS i, range % {customers} AS c, hash(range) AS h
              FROM range({rows}))
        ORDER BY i"""  # noqa: S608 (constants only)


# -- one contender, in its own process -------------------------------------------------------


def _count(db: Path, table: str) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    finally:
        con.close()
    return int(row[0]) if row else -1


def _check_cxdata_rows(db: Path, rows: int, layout: str) -> None:
    """The generated file numbers its rows: observation i is on file row i + 2. Every
    observation must carry that source_row, and every customer its attributes."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            """SELECT count(*) FILTER (WHERE observation_id
                          <> 'O-' || lpad(CAST(source_row - 2 AS VARCHAR), 10, '0')),
                      (SELECT count(*) FROM customer_attributes),
                      count(DISTINCT customer_id)
               FROM observations"""
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    wrong_rows, attributes, customers = row
    if wrong_rows:
        raise SystemExit(f"cxdata: {wrong_rows} observations with a wrong source_row")
    expected = len(ATTRIBUTE_COLUMNS[layout])
    if attributes != expected * customers or customers != _customers(rows, layout):
        raise SystemExit(f"cxdata: {attributes} attribute rows for {customers} customers")


def run_one(
    contender: str, csv: Path, db: Path, expect_rows: int, layout: str = "wide"
) -> dict[str, Any]:
    """Load `csv` into the fresh database `db`; time the work only; check the row count."""
    import duckdb

    setup = 0.0
    if contender == OURS:
        from cxdata.config import Settings
        from cxdata.ingest import ingest_file
        from cxdata.store import Store

        start = time.perf_counter()
        store = Store.open(Settings(), path=db)  # creates the schema: not part of the ingest
        setup = time.perf_counter() - start
        base = peak_mib()
        cpu, start = cpu_seconds(), time.perf_counter()
        result = ingest_file(store, csv)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        if result.rows != expect_rows:
            raise SystemExit(f"cxdata: ingest_file reported {result.rows} rows, not {expect_rows}")
        table = "observations"
    elif contender == PEER:
        import pandas as pd

        base = peak_mib()
        cpu, start = cpu_seconds(), time.perf_counter()
        df = pd.read_csv(csv)
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE observations AS SELECT * FROM df")
        con.close()
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        del df
        table = "observations"
    elif contender == LIMIT:
        base = peak_mib()
        cpu, start = cpu_seconds(), time.perf_counter()
        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE observations AS SELECT * FROM read_csv(?)", [str(csv)])
        con.close()
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        table = "observations"
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    peak = peak_mib()
    stored = _count(db, table)
    if stored != expect_rows:
        raise SystemExit(f"{contender}: {stored} rows stored in {table}, expected {expect_rows}")
    if contender == OURS:
        _check_cxdata_rows(db, expect_rows, layout)
    return {
        "contender": contender,
        "rows": expect_rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "setup_seconds": setup,
        "peak_mb": peak,
        "baseline_mb": base,
        "stored_rows": stored,
        "db_mb": db.stat().st_size / 2**20,
    }


def spawn(contender: str, csv: Path, rows: int, folder: Path, layout: str) -> dict[str, Any]:
    """Run one contender in a fresh interpreter on a fresh database, then delete it."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"run-{contender}-", dir=folder))
    try:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--one",
            contender,
            "--csv",
            str(csv),
            "--db",
            str(run_dir / "cx.duckdb"),
            "--expect-rows",
            str(rows),
            "--layout",
            layout,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return {
                "contender": contender,
                "rows": rows,
                "error": f"exit {proc.returncode}: " + " | ".join(tail),
            }
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


# -- the report ------------------------------------------------------------------------------


def _warm(path: Path) -> None:
    """Read the file once so no contender pays for the first read from disk."""
    with path.open("rb") as fh:
        while fh.read(1 << 24):
            pass


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Fastest run's time; the highest peak memory of all runs (the conservative one)."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    best = fastest(ok, ("peak_mb",))
    best["cpu_seconds"] = min(r["cpu_seconds"] for r in ok)
    return best


def measure(layout: str, rows: int, repeat: int, work: Path) -> dict[str, Any]:
    """`repeat` rounds of the three contenders on one generated log."""
    start = time.perf_counter()
    csv = ensure_csv(rows, work, layout)
    print(
        f"\nCSV: {csv} ({csv.stat().st_size / 2**20:,.0f} MB, "
        f"ready in {time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    _warm(csv)
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTENDERS}
    for _ in range(repeat):
        for contender in (LIMIT, OURS, PEER):
            result = spawn(contender, csv, rows, work, layout)
            runs[contender].append(result)
            took = result.get("seconds")
            state = f"{took:.2f} s" if took is not None else result["error"]
            print(f"  {contender}: {state}", flush=True)
    summary = summarise(rows, {c: best_of(r) for c, r in runs.items()})
    summary["layout"] = layout
    summary["median_round_ratio"] = median_round_ratio(runs)
    summary["runs"] = runs
    return summary


def median_round_ratio(runs: dict[str, list[dict[str, Any]]]) -> float | None:
    """The median over rounds of cxdata's time / the limit's time in the same round."""
    ratios = [
        ours["seconds"] / limit["seconds"]
        for ours, limit in zip(runs[OURS], runs[LIMIT], strict=True)
        if "error" not in ours and "error" not in limit
    ]
    return statistics.median(ratios) if ratios else None


def summarise(rows: int, best: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def seconds(name: str) -> float | None:
        return best[name].get("seconds") if name in best else None

    limit, ours, peer = seconds(LIMIT), seconds(OURS), seconds(PEER)
    limit_cpu = best.get(LIMIT, {}).get("cpu_seconds")
    ours_cpu = best.get(OURS, {}).get("cpu_seconds")
    return {
        "rows": rows,
        "contenders": best,
        "cxdata_vs_limit": ours / limit if ours and limit else None,
        "cxdata_cpu_vs_limit": ours_cpu / limit_cpu if ours_cpu and limit_cpu else None,
        "pandas_vs_cxdata": peer / ours if peer and ours else None,
    }


def print_table(summary: dict[str, Any]) -> None:
    rows = summary["rows"]
    best = summary["contenders"]
    limit = best.get(LIMIT, {}).get("seconds")
    ours = best.get(OURS, {}).get("seconds")
    print(f"\n{summary['layout']} layout, {rows:,} rows")
    header = f"{'contender':<10} {'seconds':>9} {'rows/s':>12} {'peak MB':>9} {'x limit':>8}"
    header += f" {'pandas/this':>12} {'cpu s':>8} {'cpu x limit':>12}"
    print(header)
    print("-" * len(header))
    limit_cpu = best.get(LIMIT, {}).get("cpu_seconds")
    for name in CONTENDERS:
        r = best.get(name)
        if r is None:
            continue
        if "error" in r:
            print(f"{name:<10} FAILED: {r['error']}")
            continue
        s = r["seconds"]
        ratio = f"{s / limit:.2f}x" if limit else "-"
        peer = best.get(PEER, {}).get("seconds")
        vs_peer = f"{peer / s:.2f}x" if name == OURS and peer else ""
        line = f"{name:<10} {s:>9.2f} {rows / s:>12,.0f} {r['peak_mb']:>9,.0f} {ratio:>8}"
        cpu = r["cpu_seconds"]
        cpu_ratio = f"{cpu / limit_cpu:.2f}x" if limit_cpu else "-"
        print(f"{line} {vs_peer:>12} {cpu:>8.2f} {cpu_ratio:>12}")
    if ours and summary["pandas_vs_cxdata"]:
        print(f"pandas takes {summary['pandas_vs_cxdata']:.2f}x the time of cxdata")
    rounds = len(summary["runs"][OURS])
    if summary["median_round_ratio"] is not None and rounds > 1:
        print(f"cxdata / limit, median of {rounds} rounds: {summary['median_round_ratio']:.2f}x")


def check_targets(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The targets, each with whether it was met (None: not measured in this run)."""
    targets = []
    for s in summaries:
        ratio = s["median_round_ratio"]
        goal = TARGET_RATIO[s["layout"]]
        targets.append(
            {
                "target": f"{s['layout']}, {s['rows']:,} rows: validated ingest within "
                f"{goal}x of the bare DuckDB limit (median of rounds)",
                "value": None if ratio is None else round(ratio, 3),
                "met": None if ratio is None else ratio <= goal,
            }
        )
        peer = s["pandas_vs_cxdata"]
        targets.append(
            {
                "target": f"{s['layout']}, {s['rows']:,} rows: faster than the pandas peer",
                "value": None if peer is None else round(peer, 3),
                "met": None if peer is None else peer > 1.0,
            }
        )
    big = [s for s in summaries if s["rows"] >= TARGET_MEMORY_ROWS]
    peaks = [s["contenders"].get(OURS, {}).get("peak_mb") for s in big]
    peak = max((p for p in peaks if p is not None), default=None)
    targets.append(
        {
            "target": f"peak memory at {TARGET_MEMORY_ROWS:,} rows under 1.5 GB "
            f"({TARGET_MEMORY_MB:.0f} MB)",
            "value": None if peak is None else round(peak),
            "met": None if peak is None else peak < TARGET_MEMORY_MB,
        }
    )
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of runs (limit, cxdata, pandas); best run and median ratio kept",
    )
    parser.add_argument("--layout", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    add_paths(parser, RESULTS / "ingest.json", "folder for CSVs and databases")
    parser.add_argument("--one", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--expect-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.generate:
        generate_csv(args.generate, args.work, args.layout[0])
        return 0

    if args.one:
        if args.csv is None or args.db is None or args.expect_rows is None:
            parser.error("--one needs --csv, --db and --expect-rows")
        result = run_one(args.one, args.csv, args.db, args.expect_rows, args.layout[0])
        print(json.dumps(result))
        return 0

    info = machine({"duckdb": "duckdb", "pandas": "pandas"})
    command = command_line(__file__, argv)
    print_header(command, info, {"DuckDB": "duckdb", "pandas": "pandas"})
    summaries = []
    for layout in args.layout:
        for rows in args.rows:
            summaries.append(measure(layout, rows, args.repeat, args.work))
            print_table(summaries[-1])

    targets = check_targets(summaries)
    print("\nTargets:")
    for t in targets:
        verdict = {True: "MET", False: "MISSED", None: "not measured"}[t["met"]]
        value = "" if t["value"] is None else f" (measured: {t['value']})"
        print(f"  [{verdict}] {t['target']}{value}")

    report = {
        "benchmark": "ingest",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "repeat": args.repeat,
        "machine": info,
        "sizes": summaries,
        "targets": targets,
    }
    write_json(args.out, report)
    print(f"\nResults written to {args.out}")
    return 0 if all(t["met"] is not False for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
