"""`cxdata lake sync DIR`: the store's tables as a Parquet lake for the Spark engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from cxdata.cli.common import db_option, open_store


def register(sub: argparse._SubParsersAction) -> None:
    help = "The Parquet lake the Spark engine reads (see Analytics on Spark in the README)."
    lake = sub.add_parser("lake", help=help, description=help)
    actions = lake.add_subparsers(dest="lake_command", required=True)
    sync_help = (
        "Write the store's tables as Parquet under DIR: only what changed since the last "
        "sync; removed batches and erased customers disappear from the lake too."
    )
    p = actions.add_parser("sync", help=sync_help, description=sync_help)
    p.add_argument("dir", type=Path, metavar="DIR", help="Lake folder (created if missing)")
    db_option(p)
    p.set_defaults(run=sync)


def sync(args: argparse.Namespace) -> int:
    from cxdata.store.lake import sync_lake

    print(sync_lake(open_store(args), args.dir).summary())
    return 0
