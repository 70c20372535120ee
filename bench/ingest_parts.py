"""Where validated ingest spends its time: each SQL statement of one ``ingest_file`` run,
beside the bare DuckDB limit and a plain read of the same file.

    python bench/ingest_parts.py                 # 10M rows
    python bench/ingest_parts.py --rows 1000000
    python bench/ingest_parts.py --layout narrow --rows 4000000

``ingest_bench.py`` says how far cxdata is from its limit; this says where the distance
is. Each statement's wall and CPU seconds (all threads, user + system) are taken around
its ``execute``. The references, on the same file: the limit (``CREATE TABLE AS SELECT *
FROM read_csv``, into a fresh database file); the observation columns inserted into a fresh
store without trimming, rules or row numbers (what the checked insert costs at least); and
reads that only parse the file (all columns, and the customer-attribute columns alone: what
any second read of the file costs at least). Results go to the terminal and to
``bench/results/ingest_parts.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from _common import (
    RESULTS,
    add_paths,
    command_line,
    cpu_seconds,
    machine,
    print_header,
    write_json,
)
from ingest_bench import ATTRIBUTE_COLUMNS, LAYOUTS, LIMIT, ensure_csv, run_one


class _TimedConnection:
    """A DuckDB connection that records the wall and CPU seconds of every `execute`."""

    def __init__(self, con: Any, log: list[dict[str, Any]]) -> None:
        self._con, self._log = con, log

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        cpu, start = cpu_seconds(), time.perf_counter()
        self._con.execute(sql, *args, **kwargs)
        self._log.append(
            {
                "statement": " ".join(sql.split()),
                "seconds": time.perf_counter() - start,
                "cpu_seconds": cpu_seconds() - cpu,
            }
        )
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def profile_ingest(csv: Path, db: Path) -> dict[str, Any]:
    """One `ingest_file` of `csv` into the fresh store `db`, statement by statement."""
    from cxdata.config import Settings
    from cxdata.ingest import ingest_file
    from cxdata.store import Store

    log: list[dict[str, Any]] = []
    connect = Store.connect

    @contextlib.contextmanager
    def timed_connect(self: Store, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with connect(self, *args, **kwargs) as con:
            yield _TimedConnection(con, log)

    store = Store.open(Settings(), path=db)
    with mock.patch.object(Store, "connect", timed_connect):
        cpu, start = cpu_seconds(), time.perf_counter()
        result = ingest_file(store, csv)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return {"rows": result.rows, "seconds": seconds, "cpu_seconds": cpu, "statements": log}


def _timed_sql(db: Path | None, sql: str, path: Path) -> dict[str, Any]:
    """Wall and CPU seconds of `sql` (its one parameter: `path`) on a fresh connection."""
    import duckdb

    cpu, start = cpu_seconds(), time.perf_counter()
    con = duckdb.connect(str(db) if db else ":memory:")
    con.execute(sql, [str(path)])
    con.close()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu}


def references(csv: Path, rows: int, folder: Path, layout: str) -> dict[str, dict[str, Any]]:
    """The limit, the unchecked insert and parse-only reads, timed on the same file."""
    import duckdb

    con = duckdb.connect()
    columns = [
        r[0] for r in con.execute("DESCRIBE SELECT * FROM read_csv(?)", [str(csv)]).fetchall()
    ]
    con.close()

    def parse(cols: list[str] | tuple[str, ...]) -> str:
        counts = ", ".join(f'count("{c}")' for c in cols)
        return f"SELECT {counts} FROM read_csv(?, header = true, all_varchar = true)"  # noqa: S608

    limit = run_one(LIMIT, csv, folder / "limit.duckdb", rows, layout)  # as ingest_bench does
    second_read = ("customer_id", *ATTRIBUTE_COLUMNS[layout])
    return {
        "limit (CTAS into a file)": {k: limit[k] for k in ("seconds", "cpu_seconds")},
        "insert the observation columns unchecked": _unchecked_insert(csv, folder),
        "parse every column": _timed_sql(None, parse(columns), csv),
        "parse the attribute columns": _timed_sql(None, parse(second_read), csv),
    }


def _unchecked_insert(csv: Path, folder: Path) -> dict[str, Any]:
    """A floor for the checked insert: the same rows into a fresh store's `observations`,
    read as text and cast as cxdata casts them, without trimming, rules or row numbers."""
    from cxdata.config import Settings
    from cxdata.store import OBSERVATION_COLUMNS, Store

    store = Store.open(Settings(), path=folder / "floor.duckdb")  # the schema, not timed
    casts = {
        "score": 'TRY_CAST("score" AS DOUBLE)',
        "observed_at": 'TRY_CAST("observed_at" AS TIMESTAMP)',
    }
    import duckdb

    con = duckdb.connect()
    present = {
        r[0] for r in con.execute("DESCRIBE SELECT * FROM read_csv(?)", [str(csv)]).fetchall()
    }
    con.close()
    values = ", ".join(
        casts.get(c, f'"{c}"') if c in present else "NULL" for c in OBSERVATION_COLUMNS[2:]
    )
    sql = (
        f"INSERT INTO observations SELECT 1, 0, {values} "  # noqa: S608 (the schema's columns)
        "FROM read_csv(?, header = true, all_varchar = true)"
    )
    return _timed_sql(store.path, sql, csv)  # the caller removes `folder`


def print_report(profile: dict[str, Any], refs: dict[str, dict[str, Any]]) -> None:
    limit = refs["limit (CTAS into a file)"]
    print(f"\ningest_file: {profile['seconds']:.2f} s, CPU {profile['cpu_seconds']:.2f} s "
          f"({profile['seconds'] / limit['seconds']:.2f}x the limit's time, "
          f"{profile['cpu_seconds'] / limit['cpu_seconds']:.2f}x its CPU)")  # fmt: skip
    print(f"{'seconds':>8} {'cpu s':>7}  statement (those over 0.05 s)")
    for s in profile["statements"]:
        if s["seconds"] > 0.05:
            print(f"{s['seconds']:>8.2f} {s['cpu_seconds']:>7.2f}  {s['statement'][:90]}")
    listed = sum(s["seconds"] for s in profile["statements"])
    print(f"{profile['seconds'] - listed:>8.2f} {'':>7}  outside SQL statements "
          "(opening, closing, Python)")  # fmt: skip
    print(f"\n{'seconds':>8} {'cpu s':>7}  reference, same file")
    for name, r in refs.items():
        print(f"{r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--layout", choices=LAYOUTS, default="wide")
    add_paths(parser, RESULTS / "ingest_parts.json", "folder for CSVs and databases")
    args = parser.parse_args(argv)

    info = machine({"duckdb": "duckdb"})
    command = command_line(__file__, argv)
    print_header(command, info, {"DuckDB": "duckdb"})
    csv = ensure_csv(args.rows, args.work, args.layout)
    run_dir = Path(tempfile.mkdtemp(prefix="parts-", dir=args.work))
    try:
        refs = references(csv, args.rows, run_dir, args.layout)
        profile = profile_ingest(csv, run_dir / "cx.duckdb")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if profile["rows"] != args.rows:
        raise SystemExit(f"ingest_file stored {profile['rows']} rows, not {args.rows}")
    print_report(profile, refs)
    report = {
        "benchmark": "ingest_parts",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": info,
        "rows": args.rows,
        "layout": args.layout,
        "ingest": profile,
        "references": refs,
    }
    write_json(args.out, report)
    print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
