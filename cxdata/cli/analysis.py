"""Analysis commands: scores, segment comparison, priorities and personas."""

from __future__ import annotations

import argparse
import json
import sys

from cxdata.cli.common import (
    command,
    engine_options,
    fail,
    filters_of,
    open_engine,
    open_store,
    print_json_rows,
    print_table,
    where_option,
)
from cxdata.personas import MAX_FIT_CUSTOMERS

COMPARE_METHOD = """\
How this is computed: each row is tested with Welch's t-test, and its intervals come from
the same statistic. q_value: Benjamini-Hochberg over all rows tested; significant rows have
q_value <= 0.05. ci_low/ci_high: the Benjamini-Yekutieli (2005) false-coverage-rate
adjusted intervals, every row at level 1 - max(R, 1) x 0.05 / m (ci_level), R rows selected
of m: significant exactly when this interval excludes 0. ci95_low/ci95_high: each row's
unadjusted 95% Welch interval. effect_size: Cliff's delta, descriptive only.
Segments: "cabin=First|Business" takes either value; repeated --a conditions on different
columns must all hold. --b rest is everyone known not to be in A: customers whose value is
unknown are left out and counted (n_unknown); --b rest-all includes them."""
"""Kept in step with cxdata.analysis.compare.METHOD (a test checks the key terms); the CLI
does not import the analysis to print its help."""


PRIORITIES_METHOD = """\
How importance is computed: Johnson's relative weight of each stage or touchpoint in a
model of the outcome over all of them (logistic for yes/no, with the pseudo-R² R²_O;
linear otherwise): the weights sum to the model's R², and collinear stages share what they
explain. importance_ci_low/high: 95% percentile intervals from 200 seeded bootstrap
resamples. Missing scores: an item a customer did not rate (or a stage not observed) is set
to the item's mean and flagged by a 'not rated' indicator in the model; the indicators'
share of R² is reported apart. shown_to_matter: the weight beats a random reference item
(seeded noise in every model) with Bonferroni-corrected 95% confidence; a row not shown to
matter is never in concentrate_here. correlation: Spearman's rho with the outcome."""
"""Kept in step with cxdata.analysis.priorities (a test checks the key terms)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "scores", "Experience scores per stage (and group): n, mean with CI, verdict.")
    p.add_argument("--by", default="stage", help="stage[,DIMENSION...] e.g. stage,touchpoint")
    where_option(p)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    engine_options(p)
    p.set_defaults(run=scores)
    p = command(sub, "compare", "Compare two customer segments stage by stage (or by touchpoint).")
    p.epilog = COMPARE_METHOD
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--a", action="append", required=True, metavar='"COL=VALUE[|VALUE]"',
                   help="Segment A condition (repeat: AND; VALUE|VALUE: either); "
                        "persona=N for a persona")  # fmt: skip
    p.add_argument("--b", action="append", required=True, metavar='"COL=VALUE"|rest|rest-all',
                   help="Segment B condition (repeat: AND), rest for everyone known not to be "
                        "in A, or rest-all to include unknown values too")  # fmt: skip
    p.add_argument("--by", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    engine_options(p)
    p.set_defaults(run=compare)
    p = command(sub, "priorities", "What to fix first: importance vs performance for an outcome.")
    p.epilog = PRIORITIES_METHOD
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--outcome", required=True, help="Outcome (or attribute) column, e.g. nps")
    p.add_argument("--positive", help="Value that counts as the good outcome, e.g. yes")
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--split", choices=["mean", "median"], default="mean",
                   help="Where importance splits the quadrants: the mean relative weight "
                        "(default) or the median; performance splits at its mean")  # fmt: skip
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    engine_options(p)
    p.set_defaults(run=priorities)
    p = command(sub, "personas", "Find data-driven personas and store the model (reproducible).")
    p.add_argument("--k", default="auto", help="Number of personas, or auto (default)")
    p.add_argument("--k-range", default="3-8", help="Range tried when --k auto (default 3-8)")
    p.add_argument("--method", choices=["kmeans", "gmm", "agglomerative"], default="kmeans")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fit-customers",
        type=int,
        default=MAX_FIT_CUSTOMERS,
        help=f"Fit on at most this many customers, a seeded sample (default "
        f"{MAX_FIT_CUSTOMERS:,}); every customer is then assigned in the engine",
    )
    p.add_argument(
        "--gaps",
        choices=["auto", "not_rated", "not_observed"],
        default="auto",
        help="What a missing stage means: not rated (no feature; wide surveys), not observed "
        "(behaviour; observation logs), or auto: from each batch's mapping (default)",
    )
    p.add_argument("--json", action="store_true", help="Print JSON instead of text")
    engine_options(p)
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
    columns = [args.by, "n_a", "n_b", "n_unknown", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
               "ci_level", "ci95_low", "ci95_high", "p_value", "q_value",
               "significant"]  # fmt: skip
    print_table(df[columns])
    print(summary(df, segment_label(engine, a), segment_label(engine, b), args.by))
    return 0


def priorities(args: argparse.Namespace) -> int:
    from cxdata.analysis.moments import moments_of_truth
    from cxdata.analysis.priorities import priorities

    engine = open_engine(args)
    df = priorities(engine, args.outcome, args.positive, args.level, split=args.split)
    moments = moments_of_truth(engine, args.outcome, args.positive, args.level)
    if args.json:
        print_json_rows(df)
        return 0
    print_table(df[[args.level, "importance", "importance_ci_low", "importance_ci_high",
                    "correlation", "shown_to_matter", "performance", "quadrant",
                    "rank", "n_outcome"]])  # fmt: skip
    print(df.attrs.get("method", ""))
    print(
        f"Of the {df.attrs['r2_name']} {df.attrs['r2']:.3f}, the 'not rated' indicators carry "
        f"{df.attrs['pattern_weight']:.3f} and the random reference item "
        f"{df.attrs['reference_weight']:.4f}. Quadrants: importance above "
        f"{df.attrs['importance_threshold']:.4f} (the {df.attrs['split']} weight), "
        f"performance below {df.attrs['performance_threshold']:+.2f} (the mean)."
    )
    hidden = df.loc[~df["shown_to_matter"].astype(bool), args.level].astype(str).tolist()
    if hidden:
        print(f"not shown to matter: {', '.join(hidden)}")
    from cxdata.display.priority_charts import points

    for _, m in moments[moments["moment_of_truth"]].iterrows():
        print(
            f"moment of truth: {m[args.level]}: the risk of the bad outcome is "
            f"{m['risk_disappointed']:.0%} for disappointed customers against "
            f"{m['risk_other']:.0%} for the others: {points(m['risk_difference'])} percentage "
            f"points (95% CI {points(m['ci_low'])} to {points(m['ci_high'])})"
        )
    return 0


def personas(args: argparse.Namespace) -> int:
    from cxdata.display.persona_text import relative_line, typical_lines
    from cxdata.engine import DuckDBEngine
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
    if args.fit_customers < 2:
        return fail("--fit-customers is a number of customers >= 2")
    settings = PersonaSettings(k=k, k_range=(lo, hi), method=args.method, seed=args.seed,
                               gaps=args.gaps, fit_customers=args.fit_customers)  # fmt: skip
    engine = open_engine(args)
    store = engine.store if isinstance(engine, DuckDBEngine) else open_store(args)
    model = discover(store, settings, actor=os_user(), engine=engine)
    if args.json:
        print(json.dumps(model.to_json(), indent=2, default=str))
        return 0
    print(f"persona model {model.model_id}: {model.explanation}")
    print(model.diagnostics.round(3).to_string(index=False))
    for p in model.profiles:
        traits = ", ".join(f"{d['label']} {d['std_diff']:+.1f} sd" for d in p["distinguishing"])
        print(f"{p['persona']}. {p['name']}: {p['size']:,} customers ({p['share']:.0%}); {traits}")
        relative = relative_line(p.get("relative", {}))
        typical, sparse = typical_lines(p["typical"]["attributes"])
        for label, text in (("compared with their own average", relative),
                            ("typical", "; ".join(typical)),
                            ("known for too few to call typical", ", ".join(sparse))):  # fmt: skip
            if text:
                print(f"   {label}: {text}")
    return 0
