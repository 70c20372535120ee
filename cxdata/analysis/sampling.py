"""Seeded samples of customers drawn in the engine, for the few statistics that need one row
per customer on the driver (the relative weights' bootstrap, a persona fit): at most a
stated number of customers cross to Python, never the whole customer table."""

from __future__ import annotations

import ibis.expr.types as ir

MAX_DRIVER_CUSTOMERS = 50_000
"""Relative weights (priorities' importance) are fitted, with their bootstrap, on at most this
many customers with a known outcome: a seeded sample when there are more (said in the
method sentence); below it everyone, so small data gives exactly the numbers it gave."""


def seeded_sample(table: ir.Table, size: int, seed: int = 0) -> ir.Table:
    """At most `size` rows of a table with one row per `customer_id`, chosen in the engine by
    the MD5 of the customer id and the seed (as hex text), in that order: the same customers
    for the same data and seed on every engine (MD5 is the same function on DuckDB and
    Spark, where their own `hash` differs)."""
    key = (table.customer_id.cast("string") + f"|{int(seed)}").hexdigest("md5")
    keyed = table.mutate(_sample_key=key)
    return keyed.order_by(["_sample_key", "customer_id"]).limit(size).drop("_sample_key")
