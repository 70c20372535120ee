"""The `cxdata` command: parses, calls, and turns every domain error into readable lines
and an exit code (0 success or already imported, 1 a problem in the data or the store,
2 a usage error: `CxError.exit_code`).

Each command group lives in its own module and imports the heavy libraries (pandas, Ibis,
scikit-learn, scipy) only inside the commands that need them, so `cxdata --help` and
`cxdata stats` start fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from cxdata.cli import agreement, analysis, data, lake, outcomes
from cxdata.cli import report as report_command
from cxdata.errors import CxError

MAX_PROBLEMS_SHOWN = 50
"""Problems printed before a count when the settings cannot be read (else the setting)."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cxdata", description="Customer-experience observation studies in DuckDB."
    )
    sub = top.add_subparsers(dest="command", required=True)
    data.register(sub)
    analysis.register(sub)
    outcomes.register(sub)
    agreement.register(sub)
    lake.register(sub)
    report_command.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # as a command: end quietly when piped into `head`
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CxError as exc:
        report(exc)
        return exc.exit_code


def report(exc: CxError, limit: int = MAX_PROBLEMS_SHOWN) -> None:
    """The error as the CLI prints it: one line per problem (the first `limit`), or the
    message; on standard error."""
    if not exc.problems:
        print(f"error: {exc}", file=sys.stderr)
    for problem in exc.problems[:limit]:
        print(problem.line(), file=sys.stderr)
    total = getattr(exc, "total", len(exc.problems))
    if total > limit:
        print(f"... and {total - limit} more problems", file=sys.stderr)
