"""`cxdata agreement`: observer agreement (Krippendorff's alpha) and observer bias over
double-coded units."""

from __future__ import annotations

import argparse
import json

from cxdata.cli.common import (
    command,
    engine_options,
    filters_of,
    open_engine,
    print_table,
    where_option,
)

METHOD = """\
How this is computed: a unit is one customer x stage x touchpoint (x interaction code);
each observer's value is the sum of their scores for the unit; only units coded by two or
more observers count. alpha: Krippendorff's alpha (krippendorff package), 95% interval by
bootstrap over units (1,000 resamples, seed 0); 0.80 is the usual bar, 0.667 the floor for
tentative conclusions. bias: an observer's effect minus the typical (median) observer's in a
two-way model of the double-coded values (unit + observer; negative: harsher); t-test per
observer, Benjamini-Hochberg over all observers, Benjamini-Yekutieli adjusted intervals;
flagged exactly when the interval excludes 0."""


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "agreement", "Observer agreement (Krippendorff's alpha) and observer bias.")
    p.epilog = METHOD
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--by", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--metric", choices=["interval", "ordinal", "nominal"], default="interval")
    where_option(p)
    p.add_argument("--json", action="store_true", help="Print JSON instead of tables")
    engine_options(p)
    p.set_defaults(run=agreement)


def agreement(args: argparse.Namespace) -> int:
    from cxdata.analysis.agreement import agreement as compute

    engine = open_engine(args)
    report = compute(engine, args.by, args.metric, filters_of(engine, args))
    if args.json:
        print(json.dumps(report.to_json(args.by), indent=2, ensure_ascii=False))
        return 0
    o = report.overall
    print(f"{o['reading']} ({args.metric} metric)")
    if o["units"]:
        print(
            f"95% interval {o['ci_low']:.2f} to {o['ci_high']:.2f}; {o['units']:,} units, "
            f"{o['values']:,} pairable values; exact agreement {o['percent_agreement']:.0%}"
        )
        if o["ac1_shown"]:
            print(f"one value holds {o['dominant_share']:.0%} of the values: Gwet's AC1 "
                  f"{o['ac1']:.2f}")  # fmt: skip
        print()
        print_table(report.by.drop(columns=["reading"]))
        print()
        print_table(report.observers)
        print()
        for _, row in report.disagreements.head(10).iterrows():
            values = ", ".join(f"{k} {v:+g}" for k, v in row["values"].items())
            print(f"{row['customer_id']} / {row['stage']} / {row['touchpoint']}: {values}")
    return 0
