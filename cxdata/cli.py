"""The `cxdata` command. Domain errors become one readable line each and an exit code:
0 success (or already imported), 1 problems in the data, 2 usage errors."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxdata.analysis.filters import FilterError, Filters
from cxdata.analysis.scoring import attribute_names, stage_scores
from cxdata.config import Settings
from cxdata.ingest import IngestError, Mapping, ingest_file, load_mapping
from cxdata.ingest.export import safe_csv
from cxdata.store import Store, StoreError
from cxdata.store.audit import os_user
from cxdata.store.privacy import erase_customer, key_file_note, key_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxdata", description="Customer-experience observation studies in DuckDB."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if name != "sample":
            p.add_argument("--db", type=Path, help="DuckDB file (default: $CXDATA_DB or data/)")
        return p

    p = command("ingest", "Import observation files, each as one batch (all or nothing).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--study", help="Study name for rows without one (default: file name)")
    p.add_argument("--mapping", type=Path, help="Mapping file (TOML) for columns, wide, outcomes")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    p = command("export", "Write every observation as CSV that cxdata ingest reads back the same.")
    p.add_argument("file", type=Path, metavar="FILE")
    p = command("batches", "List imported batches.")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    p = command("remove-batch", "Remove a batch and everything it brought.")
    p.add_argument("batch_id", type=int, metavar="ID")
    p = command("erase", "Erase one customer everywhere and rewrite the database file.")
    p.add_argument("--customer", required=True, metavar="ID", help="The customer's id")
    p = command("audit", "The audit trail: imports, removals, erasures (who, when, what).")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    p.add_argument("--limit", type=int, default=None, help="Only the newest N entries")
    p = command("stats", "Counts of observations, customers, batches; stages in order.")
    p.add_argument("--json", action="store_true", help="Print JSON (the default output)")
    p = command("scores", "Experience scores per stage (and group): n, mean with CI, verdict.")
    p.add_argument("--by", default="stage", help="stage[,DIMENSION...] e.g. stage,touchpoint")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar='"COLUMN=VALUE"',
        help="Filter (repeat; same column = OR), observed_at>=DATE, <=DATE",
    )
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p = command("compare", "Compare two customer segments stage by stage (or by touchpoint).")
    p.add_argument(
        "--a",
        action="append",
        required=True,
        metavar='"COL=VALUE"',
        help="Segment A condition (repeat: AND); persona=N for a persona",
    )
    p.add_argument(
        "--b",
        action="append",
        required=True,
        metavar='"COL=VALUE"|rest',
        help="Segment B condition (repeat: AND), or rest for everyone else",
    )
    p.add_argument("--by", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    p = command("priorities", "What to fix first: importance vs performance for an outcome.")
    p.add_argument("--outcome", required=True, help="Outcome (or attribute) column, e.g. nps")
    p.add_argument("--positive", help="Value that counts as the good outcome, e.g. yes")
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--json", action="store_true", help="Print JSON rows instead of a table")
    p = command("personas", "Find data-driven personas and store the model (reproducible).")
    p.add_argument("--k", default="auto", help="Number of personas, or auto (default)")
    p.add_argument("--k-range", default="3-8", help="Range tried when --k auto (default 3-8)")
    p.add_argument("--method", choices=["kmeans", "gmm", "agglomerative"], default="kmeans")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="Print JSON instead of text")
    p = command("sample", "Write the sample data set (files, mappings, README).")
    p.add_argument("--out", type=Path, default=None, help="Folder (default: sample_data/)")
    help = "The journey framework: stages, touchpoints, interaction catalogue (versioned)."
    actions = sub.add_parser("framework", help=help, description=help).add_subparsers(
        dest="action", required=True
    )
    for action, text in [
        ("import", "Import a framework file (TOML or CSV); a changed one becomes a new version."),
        ("export", "Write the active framework to FILE (TOML or CSV, by suffix)."),
        ("show", "Show the active framework and its version history."),
    ]:
        p = actions.add_parser(action, help=text, description=text)
        if action != "show":
            p.add_argument("file", type=Path, metavar="FILE")
        p.add_argument("--db", type=Path, help="DuckDB file (default: $CXDATA_DB or data/)")
        if action == "show":
            p.add_argument("--json", action="store_true", help="Print JSON instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # as a command: end quietly when piped into `head`
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = _parser().parse_args(argv)
    try:
        return int(_COMMANDS[args.command](args))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _store(args: argparse.Namespace) -> Store:
    return Store.open(Settings.from_env(db_path=args.db))


def _ingest(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
    store = _store(args)
    try:
        mapping = load_mapping(args.mapping) if args.mapping else Mapping()
    except IngestError as exc:
        _print_problems(exc, store.settings.max_problems_shown)
        return 2
    status = 0
    key = key_path(store.settings)
    had_key = key.exists()
    for path in args.files:
        try:
            result = ingest_file(
                store,
                path,
                study=args.study,
                mapping=mapping,
                sheet=args.sheet,
                name=str(path),
                actor=os_user(),
            )
        except IngestError as exc:
            _print_problems(exc, store.settings.max_problems_shown)
            print(f"{path}: nothing imported", file=sys.stderr)
            status = 1
            continue
        print(result.message())
        for warning in result.warnings:
            print(f"warning: {warning.line()}")
        if store.settings.pseudonymise and not had_key and key.exists():
            print(key_file_note(store.settings))
            had_key = True
    return status


def _print_problems(exc: IngestError, limit: int) -> None:
    for problem in exc.problems[:limit]:
        print(problem.line(), file=sys.stderr)
    if exc.total > limit:
        print(f"... and {exc.total - limit} more problems", file=sys.stderr)


def _export(args: argparse.Namespace) -> int:
    from cxdata.ingest.export import ExportError, export_observations

    try:
        rows, mapping = export_observations(_store(args), args.file)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{rows:,} observations written to {args.file}")
    if mapping is not None:
        print(f"re-import with: cxdata ingest {args.file} --mapping {mapping}")
    return 0


def _batches(args: argparse.Namespace) -> int:
    df = _store(args).batches().drop(columns=["mapping", "warnings"])
    if args.json:
        df["imported_at"] = df["imported_at"].astype(str)
        print(json.dumps(df.to_dict(orient="records"), indent=2))
    elif df.empty:
        print("no batches yet")
    else:
        print(df.drop(columns=["sha256"]).to_string(index=False))
    return 0


def _remove_batch(args: argparse.Namespace) -> int:
    removed = _store(args).remove_batch(args.batch_id, actor=os_user())
    print(f"removed batch {args.batch_id} ({removed:,} observations)")
    return 0


def _erase(args: argparse.Namespace) -> int:
    erased = erase_customer(_store(args), args.customer, actor=os_user())
    print(erased.message())
    return 0


def _audit(args: argparse.Namespace) -> int:
    df = _store(args).audit_log(args.limit)
    if args.json:
        df["at"] = df["at"].astype(str)
        df["details"] = df["details"].map(json.loads)
        print(json.dumps(df.to_dict(orient="records"), indent=2, ensure_ascii=False))
    elif df.empty:
        print("no audit entries yet")
    else:
        print(df.to_string(index=False))
    return 0


def _stats(args: argparse.Namespace) -> int:
    print(json.dumps(_store(args).stats()))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from cxdata.sample import SAMPLE_DIR, write_sample

    for path in write_sample(args.out or SAMPLE_DIR):
        print(path)
    return 0


def _framework(args: argparse.Namespace) -> int:
    from cxdata import framework as fw

    if args.action != "show" and args.file.suffix.lower() not in (".toml", ".csv"):
        print(f"error: {args.file}: a framework file is .toml or .csv", file=sys.stderr)
        return 2
    if args.action == "import" and not args.file.is_file():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 2
    store = _store(args)
    if args.action == "import":
        try:
            framework = fw.load_framework_file(args.file, store.settings, name=str(args.file))
        except IngestError as exc:
            _print_problems(exc, store.settings.max_problems_shown)
            print(f"{args.file}: nothing imported", file=sys.stderr)
            return 1
        version, created = fw.save_framework(store, framework, args.file.name, actor=os_user())
        note = "" if created else " (unchanged: same content as the active version)"
        print(f"framework version {version}: {framework.summary()}{note}")
        return 0
    versions = fw.framework_versions(store)
    active = fw.active_framework(store)
    if args.action == "export":
        if active is None:
            print("no framework yet", file=sys.stderr)
            return 1
        fw.save_framework_file(active, args.file)
        print(f"framework version {versions['version'].iloc[0]} written to {args.file}")
    elif args.json:
        versions["created_at"] = versions["created_at"].astype(str)
        doc = None if active is None else active.to_dict()
        history = versions.to_dict(orient="records")
        print(json.dumps({"framework": doc, "versions": history}, indent=2, ensure_ascii=False))
    elif active is None:
        print("no framework yet")
    else:
        top = versions.iloc[0]
        when = f"{top.created_at:%Y-%m-%d %H:%M}"
        print(f"framework version {top.version} ({top.source_name}, {when}): {active.summary()}")
        for stage in active.stages:
            print(stage.name)
            for tp in (None, *stage.touchpoints):
                here = (stage.name, tp)
                mine = [x for x in active.interactions if (x.stage, x.touchpoint) == here]
                if tp is not None or mine:
                    print(f"  {tp or '(no touchpoint)'}: {len(mine)} interactions")
    return 0


def _scores(args: argparse.Namespace) -> int:
    by = [b.strip() for b in args.by.split(",") if b.strip()]
    if not by or by[0] != "stage":
        print('error: --by starts with "stage", e.g. --by stage,touchpoint', file=sys.stderr)
        return 2
    store = _store(args)
    try:
        filters = Filters.parse(args.where, set(attribute_names(store)))
        df = stage_scores(store, by[1:], filters)
    except FilterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        records = json.loads(df.to_json(orient="records", double_precision=15))
        print(json.dumps(records, indent=2))
    elif args.format == "csv":
        sys.stdout.write(safe_csv(df).decode())
    else:
        print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from cxdata.analysis.compare import Segment, compare, segment_label, segment_names, summary

    store = _store(args)
    try:
        allowed = segment_names(store)
        a, b = Segment.parse(args.a, allowed), Segment.parse(args.b, allowed)
        df = compare(store, a, b, args.by)
    except FilterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(json.loads(df.to_json(orient="records", double_precision=15)), indent=2))
    else:
        columns = [args.by, "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_low", "ci_high",
                   "p_value", "q_value", "significant"]  # fmt: skip
        print(df[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(summary(df, segment_label(store, a), segment_label(store, b), args.by))
    return 0


def _priorities(args: argparse.Namespace) -> int:
    from cxdata.analysis.priorities import moments_of_truth, priorities

    store = _store(args)
    try:
        df = priorities(store, args.outcome, args.positive, args.level)
        moments = moments_of_truth(store, args.outcome, args.positive, args.level)
    except FilterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(json.loads(df.to_json(orient="records", double_precision=15)), indent=2))
        return 0
    columns = [args.level, "importance", "performance", "quadrant", "rank"]
    print(df[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"importance: {df.attrs.get('method', '')}")
    top = moments[moments["moment_of_truth"]]
    for _, m in top.iterrows():
        print(
            f"moment of truth: {m[args.level]}: disappointed customers' risk of the bad "
            f"outcome is {m['risk_difference']:+.0%} (95% CI {m['ci_low']:+.0%} to "
            f"{m['ci_high']:+.0%})"
        )
    return 0


def _personas(args: argparse.Namespace) -> int:
    from cxdata.personas.discovery import discover
    from cxdata.personas.estimator import PersonaSettings

    try:
        k = None if args.k == "auto" else int(args.k)
        lo, hi = (int(v) for v in args.k_range.split("-"))
        if not 2 <= lo <= hi or (k is not None and k < 2):
            raise ValueError
    except ValueError:
        print("error: --k is auto or a number >= 2; --k-range looks like 3-8", file=sys.stderr)
        return 2
    settings = PersonaSettings(k=k, k_range=(lo, hi), method=args.method, seed=args.seed)
    try:
        model = discover(_store(args), settings, actor=os_user())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(model.to_json(), indent=2, default=str))
        return 0
    print(f"persona model {model.model_id}: {model.explanation}")
    print(model.diagnostics.round(3).to_string(index=False))
    for p in model.profiles:
        traits = ", ".join(f"{d['label']} {d['std_diff']:+.1f} sd" for d in p["distinguishing"])
        print(f"{p['persona']}. {p['name']}: {p['size']:,} customers ({p['share']:.0%}); {traits}")
    return 0


_COMMANDS: dict[str, Any] = {
    "ingest": _ingest,
    "batches": _batches,
    "export": _export,
    "remove-batch": _remove_batch,
    "erase": _erase,
    "audit": _audit,
    "stats": _stats,
    "compare": _compare,
    "personas": _personas,
    "priorities": _priorities,
    "sample": _sample,
    "scores": _scores,
    "framework": _framework,
}

if __name__ == "__main__":
    sys.exit(main())
