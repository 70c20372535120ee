"""What pseudonymising customer ids costs at import (cxdata/privacy.py).

A staging table of ROWS rows with DISTINCT customer ids (default 1M rows; 1M and ~67k
distinct ids, i.e. every row a new customer, and the ingest bench's n/15) is written into a
table of stored ids by four contenders, in the same run:

- plain:   `INSERT ... SELECT id`: the ids as imported (cxdata with pseudonymisation off)
- cxdata:  `INSERT ... SELECT <customer_id_expr(...)>`: HMAC-SHA256 of each distinct id,
           computed in DuckDB into a mapping table, then the insert reads the pseudonym
- pandas:  `df["id"].map(hmac)` over every row (what a user would write in pandas), then
           the insert from the frame
- duckdb:  `INSERT ... SELECT sha256(id)`: the engine's own (unkeyed) hash, the limit of an
           in-engine pseudonym (DuckDB has no keyed HMAC, so this is not a substitute)

Usage: python bench/pseudonym_bench.py [--rows 1000000] [--distinct 1000000 66667]
Timings on a shared machine are noisy; the ratios are what to read.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import tempfile
from pathlib import Path

from _common import timed

from cxdata.config import Settings
from cxdata.store import Store
from cxdata.store.privacy import customer_id_expr, pseudonym


def run(rows: int, distinct: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "key"
        settings = Settings(pseudonymise=True, pseudonym_key_file=key_file)
        store = Store.open(settings, Path(tmp) / "cx.duckdb")
        times: dict[str, float] = {}
        with store.connect() as con:
            con.execute(
                "CREATE TEMP TABLE staged AS SELECT 'C' || lpad((range % ?)::VARCHAR, 8, '0') "
                "AS id FROM range(?)",
                [distinct, rows],
            )
            con.execute("CREATE TEMP TABLE stored (customer_id VARCHAR)")

            def insert(name: str, sql: str) -> None:
                con.execute("DELETE FROM stored")
                sql = f"INSERT INTO stored SELECT {sql} FROM staged"  # noqa: S608
                times[name], _ = timed(lambda: con.execute(sql))

            def via_cxdata() -> None:
                con.execute("BEGIN TRANSACTION")
                expr = customer_id_expr(con, "id", "staged", settings)
                con.execute("DELETE FROM stored")
                con.execute(f"INSERT INTO stored SELECT {expr} FROM staged")  # noqa: S608
                con.execute("ROLLBACK")  # keep the store free of a key id

            insert("plain", "id")
            times["cxdata"], _ = timed(via_cxdata)
            key = bytes.fromhex(key_file.read_text().strip())
            check = con.execute("SELECT id FROM staged LIMIT 1").fetchone()
            assert check is not None
            frame = con.execute("SELECT id FROM staged").df()

            def via_pandas() -> None:
                frame["id"] = frame["id"].map(
                    lambda v: hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32]
                )
                con.register("frame", frame)
                con.execute("DELETE FROM stored")
                con.execute("INSERT INTO stored SELECT id FROM frame")

            times["pandas"], _ = timed(via_pandas)
            assert frame["id"].iloc[0] == pseudonym(key, str(check[0]))
            insert("duckdb", "sha256(id)")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, nargs="+", default=[1_000_000, 66_667])
    args = parser.parse_args()
    print(
        "rows       distinct   plain s  cxdata s  pandas s  duckdb s  cxdata-plain  pandas/cxdata"
    )
    for distinct in args.distinct:
        t = run(args.rows, distinct)
        print(
            f"{args.rows:>9,} {distinct:>10,} {t['plain']:>8.2f} {t['cxdata']:>9.2f} "
            f"{t['pandas']:>9.2f} {t['duckdb']:>9.2f} {t['cxdata'] - t['plain']:>12.2f}"
            f" {t['pandas'] / t['cxdata']:>14.2f}"
        )


if __name__ == "__main__":
    main()
