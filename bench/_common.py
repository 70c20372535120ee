"""What the benchmark scripts share: the machine they ran on, peak memory, load-average
warnings, best/median timings and the JSON results file.

Importing it puts the checkout first on ``sys.path``, so a script run from anywhere
imports this checkout's cxdata (and ``tests.corpus``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def command_line(script: str, argv: list[str] | None) -> str:
    """How the script was called, to print and record beside its results."""
    args = sys.argv[1:] if argv is None else argv
    return f"python bench/{Path(script).name} {' '.join(args)}".strip()


def add_paths(parser: argparse.ArgumentParser, out: Path, work_help: str) -> None:
    """The --work folder (generated data, cached between runs) and the --out results file."""
    parser.add_argument("--work", type=Path, default=WORK, help=work_help)
    parser.add_argument("--out", type=Path, default=out, help="JSON results file")


def machine(packages: Mapping[str, str]) -> dict[str, Any]:
    """CPUs, memory, platform and the versions of `packages` (key -> distribution name)."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(mem, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{key: version(dist) for key, dist in packages.items()},
    }


def print_header(command: str, info: dict[str, Any], labels: Mapping[str, str]) -> None:
    """The command and the machine, with the versions of `labels` (shown name -> key)."""
    versions = "".join(f", {label} {info[key]}" for label, key in labels.items())
    print(f"{command}  ({info['cpus']} CPUs, {info['memory_gb']} GB{versions})", flush=True)


def maxrss_mib() -> float:
    """This process's ru_maxrss in MiB (KiB on Linux); inherited from the parent across
    fork + exec, so a child of a big parent reports the parent's peak."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vmhwm_mib() -> float | None:
    """This process's own peak resident memory (VmHWM) in MiB, None without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def peak_mib() -> float:
    """VmHWM where /proc has it, else ru_maxrss."""
    peak = vmhwm_mib()
    return maxrss_mib() if peak is None else peak


def cpu_seconds() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    t = os.times()
    return t.user + t.system


def warn_if_busy(*loads: tuple[float, float, float]) -> None:
    """Warn when a 1-minute load average (os.getloadavg()) says others used the CPUs."""
    busy = max(load[0] for load in loads)
    if busy > (os.cpu_count() or 1) * 0.75:
        print(
            f"WARNING: 1-minute load average reached {busy:.1f} on {os.cpu_count()} CPUs: "
            "other processes competed for the CPU; rerun on a quiet machine"
        )


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of `fn()`, and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_median(times: list[float]) -> dict[str, Any]:
    """Best and median of repeated timings, with every run."""
    return {"best": min(times), "median": statistics.median(times), "runs": times}


def fastest(runs: list[dict[str, Any]], peaks: tuple[str, ...]) -> dict[str, Any]:
    """The fastest run (by "seconds") with the highest of each `peaks` memory over all
    runs (the conservative one) and every run's time."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    for key in peaks:
        best[key] = max(r.get(key, 0.0) for r in runs)
    best["all_seconds"] = [r["seconds"] for r in runs]
    return best


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
