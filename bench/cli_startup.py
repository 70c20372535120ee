"""Start-up of the `cxdata` command: `--help` and `stats` against the bare interpreter
(the limit: `python -c pass`) and `python -c "import pandas, ibis, sklearn, scipy"` (the
peer: what every command paid when the CLI imported the analytics first). Median of N
runs each, alternating, printed with the ratio to the limit.

    python bench/cli_startup.py            # 5 runs each
    python bench/cli_startup.py --repeat 9
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

TARGET_HELP_S = 0.4


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    exe = shutil.which("cxdata") or sys.exit("pip install -e . first (the cxdata command)")
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        subprocess.run([exe, "stats", "--db", db], check=True, capture_output=True)  # create
        contenders = {
            "limit: python -c pass": [sys.executable, "-c", "pass"],
            "cxdata --help": [exe, "--help"],
            "cxdata stats": [exe, "stats", "--db", db],
            "peer: import pandas, ibis, sklearn, scipy": [
                sys.executable, "-c", "import pandas, ibis, sklearn, scipy"
            ],
        }  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeat):
            for name, cmd in contenders.items():
                times[name].append(_time(cmd))
    limit = statistics.median(times["limit: python -c pass"])
    print(f"median of {args.repeat} runs each (alternating), wall seconds")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:45} {median:6.3f} s  ({median / limit:4.1f}x the bare interpreter)")
    help_s = statistics.median(times["cxdata --help"])
    verdict = "met" if help_s < TARGET_HELP_S else "missed"
    print(f"target: cxdata --help under {TARGET_HELP_S} s: {verdict} ({help_s:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
