"""Commands over the store's content: ingest, export, batches, removal, erasure, audit,
stats, the sample data and the journey framework."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cxdata.cli.common import command, db_option, fail, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "ingest", "Import observation files, each as one batch (all or nothing).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--study", help="Study name for rows without one (default: file name)")
    p.add_argument("--mapping", type=Path, help="Mapping file (TOML) for columns, wide, outcomes")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    p.add_argument("--row-ids", action="store_true",
                   help="Each row is one respondent: id <file stem>-<row number>")  # fmt: skip
    p.add_argument("--replace", action="store_true",
                   help="Content already imported with another mapping: remove that batch "
                   "and import this one, in one transaction")  # fmt: skip
    p.set_defaults(run=ingest)
    p = command(sub, "export", "Write every observation as CSV that cxdata ingest reads back.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(run=export)
    p = command(sub, "batches", "List imported batches.")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    p.set_defaults(run=batches)
    p = command(sub, "remove-batch", "Remove a batch and everything it brought.")
    p.add_argument("batch_id", type=int, metavar="ID")
    p.set_defaults(run=remove_batch)
    p = command(sub, "erase", "Erase one customer everywhere and rewrite the database file.")
    p.add_argument("--customer", required=True, metavar="ID", help="The customer's id")
    p.set_defaults(run=erase)
    p = command(sub, "audit", "The audit trail: imports, removals, erasures (who, when, what).")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    p.add_argument("--limit", type=int, default=None, help="Only the newest N entries")
    p.set_defaults(run=audit)
    p = command(sub, "stats", "Counts of observations, customers, batches; stages in order.")
    p.add_argument("--json", action="store_true", help="Print JSON (the default output)")
    p.set_defaults(run=stats)
    p = command(sub, "sample", "Write the sample data set (files, mappings, README).")
    p.add_argument("--out", type=Path, default=None, help="Folder (default: sample_data/)")
    p.set_defaults(run=sample)
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
        db_option(p)
        if action == "show":
            p.add_argument("--json", action="store_true", help="Print JSON instead of text")
        p.set_defaults(run=framework)


def ingest(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from cxdata.cli import report
    from cxdata.errors import IngestError
    from cxdata.ingest import Mapping, ingest_file, load_mapping
    from cxdata.store.audit import os_user
    from cxdata.store.privacy import key_file_note, key_path

    for path in args.files:
        if not path.is_file():
            return fail(f"{path}: no such file")
    store = open_store(args)
    shown = store.settings.max_problems_shown
    try:
        mapping = load_mapping(args.mapping) if args.mapping else Mapping()
        if args.row_ids:
            mapping = replace(mapping, row_ids=True)
    except IngestError as exc:
        report(exc, shown)
        return 2
    status = 0
    key = key_path(store.settings)
    had_key = key.exists()
    for path in args.files:
        try:
            result = ingest_file(store, path, study=args.study, mapping=mapping,
                                 sheet=args.sheet, name=str(path), actor=os_user(),
                                 replace=args.replace)  # fmt: skip
        except IngestError as exc:
            report(exc, shown)
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


def export(args: argparse.Namespace) -> int:
    from cxdata.ingest.export import export_observations

    rows, mapping = export_observations(open_store(args), args.file)
    print(f"{rows:,} observations written to {args.file}")
    if mapping is not None:
        print(f"re-import with: cxdata ingest {args.file} --mapping {mapping}")
    return 0


def batches(args: argparse.Namespace) -> int:
    df = open_store(args).batches().drop(columns=["mapping", "warnings"])
    if args.json:
        df["imported_at"] = df["imported_at"].astype(str)
        print(json.dumps(df.to_dict(orient="records"), indent=2))
    elif df.empty:
        print("no batches yet")
    else:
        print(df.drop(columns=["sha256"]).to_string(index=False))
    return 0


def remove_batch(args: argparse.Namespace) -> int:
    from cxdata.store.audit import os_user

    removed = open_store(args).remove_batch(args.batch_id, actor=os_user())
    print(f"removed batch {args.batch_id} ({removed:,} observations)")
    return 0


def erase(args: argparse.Namespace) -> int:
    from cxdata.store.audit import os_user
    from cxdata.store.privacy import erase_customer

    print(erase_customer(open_store(args), args.customer, actor=os_user()).message())
    return 0


def audit(args: argparse.Namespace) -> int:
    df = open_store(args).audit_log(args.limit)
    if args.json:
        df["at"] = df["at"].astype(str)
        df["details"] = df["details"].map(json.loads)
        print(json.dumps(df.to_dict(orient="records"), indent=2, ensure_ascii=False))
    elif df.empty:
        print("no audit entries yet")
    else:
        print(df.to_string(index=False))
    return 0


def stats(args: argparse.Namespace) -> int:
    print(json.dumps(open_store(args).stats()))
    return 0


def sample(args: argparse.Namespace) -> int:
    from cxdata.sample import SAMPLE_DIR, write_sample

    for path in write_sample(args.out or SAMPLE_DIR):
        print(path)
    return 0


def framework(args: argparse.Namespace) -> int:
    from cxdata import framework as fw
    from cxdata.cli import report
    from cxdata.errors import IngestError
    from cxdata.store.audit import os_user

    if args.action != "show" and args.file.suffix.lower() not in (".toml", ".csv"):
        return fail(f"{args.file}: a framework file is .toml or .csv")
    if args.action == "import" and not args.file.is_file():
        return fail(f"{args.file}: no such file")
    store = open_store(args)
    if args.action == "import":
        try:
            framework = fw.load_framework_file(args.file, store.settings, name=str(args.file))
        except IngestError as exc:
            report(exc, store.settings.max_problems_shown)
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
