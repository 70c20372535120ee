"""Outcome KPIs and trends: `cxdata outcomes` and `cxdata trends`."""

from __future__ import annotations

import argparse

from cxdata.cli.common import (
    command,
    engine_options,
    fail,
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

TRENDS_HELP = """\
net_experience: delight share minus disappointment share of the customers observed in the
stage and period (their cell score as +1/0/-1), with a 95% t interval (net_low, net_high).
With --from and --to, each stage's change (to minus from) is tested with the comparison's
procedure: Welch's t-test, Benjamini-Hochberg over the stages (5% false discovery rate),
Benjamini-Yekutieli adjusted intervals; significant exactly when that interval excludes 0."""


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
    p = command(sub, "trends", "Net experience per stage over periods; the change between two.")
    p.epilog = TRENDS_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--period", default="observed_year",
                   help="observed_month, observed_quarter, observed_year (default), study, "
                   "or an attribute naming the wave")  # fmt: skip
    p.add_argument("--from", dest="earlier", metavar="PERIOD", help="Earlier period to compare")
    p.add_argument("--to", dest="later", metavar="PERIOD", help="Later period to compare")
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")
    where_option(p)
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    engine_options(p)
    p.set_defaults(run=trends)


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


def trends(args: argparse.Namespace) -> int:
    from cxdata.analysis.trends import change, net_trend, sentences

    if (args.earlier is None) != (args.later is None):
        return fail("give both --from and --to to compare two periods")
    engine = open_engine(args)
    filters = filters_of(engine, args)
    if args.earlier is None:
        df = net_trend(engine, args.period, filters, args.level)
        if args.json:
            print_json_rows(df)
        else:
            print_table(df)
        return 0
    df = change(engine, args.period, args.earlier, args.later, filters, args.level)
    if args.json:
        print_json_rows(df)
        return 0
    print_table(df)
    for line in sentences(df, args.earlier, args.later, args.level):
        print(line)
    return 0
