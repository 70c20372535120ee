"""Analysis commands: scores, segment comparison, priorities and personas."""

from __future__ import annotations

import argparse
import json
import sys

from cxdata.cli.common import (
    command,
    fail,
    filters_of,
    open_engine,
    open_store,
    print_json_rows,
    print_table,
    where_option,
)

COMPARE_METHOD = """\
How this is computed: each row is tested with Welch's t-test, and its intervals come from
the same statistic. q_value: Benjamini-Hochberg over all rows tested; significant rows have
q_value <= 0.05. ci_low/ci_high: the Benjamini-Yekutieli (2005) false-coverage-rate
adjusted intervals, every row at level 1 - max(R, 1) x 0.05 / m (ci_level), R rows selected
of m: significant exactly when this interval excludes 0. ci95_low/ci95_high: each row's
unadjusted 95% Welch interval. effect_size: Cliff's delta, descriptive only."""
"""Kept in step with cxdata.analysis.compare.METHOD (a test checks the key terms); the CLI
does not import the analysis to print its help."""


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "scores", "Experience scores per stage (and group): n, mean with CI, verdict.")
    p.add_argument("--by", default="stage", help="stage[,DIMENSION...] e.g. stage,touchpoint")
    where_option(p)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(run=scores)
    p = command(sub, "compare", "Compare two customer segments stage by stage (or by touchpoint).")
    p.epilog = COMPARE_METHOD
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--a", action="append", required=True, metavar='"COL=VALUE"',
                   help="Segment A condition (repeat: AND); persona=N for a persona")  # fmt: skip
    p.add_argument("--b", action="append", required=True, metavar='"COL=VALUE"|rest',
                   help="Segment B condition (repeat: AND), or rest for everyone else")  # fmt: skip
    p.add_argument("--by", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    p.set_defaults(run=compare)
    p = command(sub, "priorities", "What to fix first: importance vs performance for an outcome.")
    p.add_argument("--outcome", required=True, help="Outcome (or attribute) column, e.g. nps")
    p.add_argument("--positive", help="Value that counts as the good outcome, e.g. yes")
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    p.set_defaults(run=priorities)
    p = command(sub, "personas", "Find data-driven personas and store the model (reproducible).")
    p.add_argument("--k", default="auto", help="Number of personas, or auto (default)")
    p.add_argument("--k-range", default="3-8", help="Range tried when --k auto (default 3-8)")
    p.add_argument("--method", choices=["kmeans", "gmm", "agglomerative"], default="kmeans")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--gaps",
        choices=["auto", "not_rated", "not_observed"],
        default="auto",
        help="What a missing stage means: not rated (no feature; wide surveys), not observed "
        "(behaviour; observation logs), or auto: from each batch's mapping (default)",
    )
    p.add_argument("--json", action="store_true", help="Print JSON instead of text")
    p.set_defaults(run=personas)


def scores(args: argparse.Namespace) -> int:
    from cxdata.analysis.scoring import stage_scores
    from cxdata.ingest.export import safe_csv

    by = [b.strip() for b in args.by.split(",") if b.strip()]
    if not by or by[0] != "stage":
        return fail('--by starts with "stage", e.g. --by stage,touchpoint')
    engine = open_engine(args)
    df = stage_scores(engine, by[1:], filters_of(engine, args))
    if args.format == "json":
        print_json_rows(df)
    elif args.format == "csv":
        sys.stdout.write(safe_csv(df).decode())
    else:
        print_table(df)
    return 0


def compare(args: argparse.Namespace) -> int:
    from cxdata.analysis.compare import Segment, compare, segment_label, segment_names, summary

    engine = open_engine(args)
    allowed = segment_names(engine)
    a, b = Segment.parse(args.a, allowed), Segment.parse(args.b, allowed)
    df = compare(engine, a, b, args.by)
    if args.json:
        print_json_rows(df)
        return 0
    columns = [args.by, "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
               "ci_level", "ci95_low", "ci95_high", "p_value", "q_value",
               "significant"]  # fmt: skip
    print_table(df[columns])
    print(summary(df, segment_label(engine, a), segment_label(engine, b), args.by))
    return 0


def priorities(args: argparse.Namespace) -> int:
    from cxdata.analysis.priorities import moments_of_truth, priorities

    engine = open_engine(args)
    df = priorities(engine, args.outcome, args.positive, args.level)
    moments = moments_of_truth(engine, args.outcome, args.positive, args.level)
    if args.json:
        print_json_rows(df)
        return 0
    print_table(df[[args.level, "importance", "performance", "quadrant", "rank"]])
    print(f"importance: {df.attrs.get('method', '')}")
    for _, m in moments[moments["moment_of_truth"]].iterrows():
        print(
            f"moment of truth: {m[args.level]}: disappointed customers' risk of the bad "
            f"outcome is {m['risk_difference']:+.0%} (95% CI {m['ci_low']:+.0%} to "
            f"{m['ci_high']:+.0%})"
        )
    return 0


def personas(args: argparse.Namespace) -> int:
    from cxdata.personas.discovery import discover
    from cxdata.personas.estimator import PersonaSettings
    from cxdata.store.audit import os_user

    try:
        k = None if args.k == "auto" else int(args.k)
        lo, hi = (int(v) for v in args.k_range.split("-"))
        if not 2 <= lo <= hi or (k is not None and k < 2):
            raise ValueError
    except ValueError:
        return fail("--k is auto or a number >= 2; --k-range looks like 3-8")
    settings = PersonaSettings(
        k=k, k_range=(lo, hi), method=args.method, seed=args.seed, gaps=args.gaps
    )
    model = discover(open_store(args), settings, actor=os_user())
    if args.json:
        print(json.dumps(model.to_json(), indent=2, default=str))
        return 0
    print(f"persona model {model.model_id}: {model.explanation}")
    print(model.diagnostics.round(3).to_string(index=False))
    for p in model.profiles:
        traits = ", ".join(f"{d['label']} {d['std_diff']:+.1f} sd" for d in p["distinguishing"])
        print(f"{p['persona']}. {p['name']}: {p['size']:,} customers ({p['share']:.0%}); {traits}")
    return 0
