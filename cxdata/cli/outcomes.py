"""Outcome KPIs and trends: `cxdata outcomes` and `cxdata trends`."""

from __future__ import annotations

import argparse

from cxdata.cli.common import (
    command,
    engine_options,
    filters_of,
    open_engine,
    print_json_rows,
    print_table,
    where_option,
)

OUTCOMES_HELP = """\
The kind comes from the answers, never the column's name: 0/1 or two text values -> rate
(0-1, Wilson 95% interval); whole numbers 0-10 -> nps (promoters 9-10 minus detractors
0-6, points -100..+100, adjusted-Wald 95% interval); other numbers -> mean (t interval).
n: customers with an answer; customers without a value of --by form the "(unknown)" row."""


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "outcomes", "Outcome KPIs per group: rate, NPS or mean, with intervals.")
    p.epilog = OUTCOMES_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--by", help="Group by persona, an attribute, study, channel, "
                   "observed_month, observed_quarter or observed_year (default: none)")  # fmt: skip
    p.add_argument("--outcome", action="append", help="Only this outcome (repeat for more)")
    where_option(p)
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    engine_options(p)
    p.set_defaults(run=outcomes)


def outcomes(args: argparse.Namespace) -> int:
    from cxdata.analysis.outcomes import outcome_kpis

    engine = open_engine(args)
    df = outcome_kpis(engine, args.by, filters_of(engine, args), args.outcome)
    if args.json:
        print_json_rows(df)
    elif df.empty:
        print("No outcomes in the store (name them under [outcomes] in the mapping).")
    else:
        print_table(df)
    return 0
