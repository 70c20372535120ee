"""What every command shares: the store option, filters, and printing tables. Light: the
store and pandas are imported when a command runs, not when the parser is built."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from cxdata.analysis.filters import Filters
    from cxdata.config import Settings
    from cxdata.engine import Engine
    from cxdata.store import Store


def command(sub: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand with the `--db` option (every command but `sample` reads a store)."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    if name != "sample":
        db_option(p)
    return p


def db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, help="DuckDB file (default: $CXDATA_DB or data/)")


def where_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar='"COLUMN=VALUE"',
        help="Filter (repeat; same column = OR), observed_at>=DATE, <=DATE",
    )


def open_store(args: argparse.Namespace) -> Store:
    from cxdata.config import Settings
    from cxdata.store import Store

    return Store.open(Settings.from_env(db_path=args.db))


def engine_options(p: argparse.ArgumentParser) -> None:
    """Where an analysis command runs (default: $CXDATA_ENGINE, else duckdb)."""
    p.add_argument(
        "--engine",
        choices=["duckdb", "spark"],
        help="duckdb (the store) or spark (the lake); default $CXDATA_ENGINE or duckdb",
    )
    p.add_argument("--lake", help="Parquet lake the spark engine reads (default: $CXDATA_LAKE)")
    p.add_argument("--spark-master", metavar="URL",
                   help="Spark master (default: $CXDATA_SPARK_MASTER or local[*])")  # fmt: skip


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings with this command's flags over the environment."""
    from cxdata.config import Settings

    return Settings.from_env(db_path=args.db, engine=getattr(args, "engine", None),
                             lake=getattr(args, "lake", None),
                             spark_master=getattr(args, "spark_master", None))  # fmt: skip


def open_engine(args: argparse.Namespace) -> Engine:
    """Where an analysis command runs: the store (DuckDB), or Spark over the lake."""
    from cxdata.engine import open_engine as engine_for
    from cxdata.store import Store

    settings = settings_of(args)
    return engine_for(settings, lambda: Store.open(settings))


def filters_of(engine: Engine, args: argparse.Namespace) -> Filters:
    from cxdata.analysis.filters import Filters
    from cxdata.analysis.scoring import attribute_names

    return Filters.parse(args.where, set(attribute_names(engine)))


def print_json_rows(df: pd.DataFrame) -> None:
    """Rows as a JSON list, floats with full precision."""
    print(json.dumps(json.loads(df.to_json(orient="records", double_precision=15)), indent=2))


def print_table(df: pd.DataFrame) -> None:
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
