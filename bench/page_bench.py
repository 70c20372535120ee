"""Warm rerun time of the Journey heatmaps page over a 1M-observation store.

    python bench/page_bench.py                       # 1M observations, 20 timed reruns
    python bench/page_bench.py --runs 50 --profile always

The app runs with Streamlit's ``AppTest``: the script is executed in this process, in a
script thread, without a browser or websocket. So this measures the server-side rerun
(router, sidebar, page script, queries, chart specs, element protos), not network or
browser rendering time.

Steps: generate (or reuse) the 1M-row store with ``scoring_bench.generate_store``; start
the app on it (``CXDATA_DB``, ``CXDATA_LOAD_SAMPLE_ON_EMPTY=false``), switch to the
heatmap page once (cold: fills the caches), then time ``--runs`` further ``at.run()``
calls (warm reruns, as after a click). Median and p90 are compared with the target.
If the target is missed (or with ``--profile always``) a few warm reruns are profiled
with cProfile in the script thread and the costliest calls are listed. Results go to
``bench/results/page.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    ROOT,
    add_paths,
    command_line,
    machine,
    print_header,
    warn_if_busy,
    write_json,
)
from scoring_bench import PACKAGES, generate_store, private_copy

PAGE = "app_pages/heatmaps.py"
TARGET_MS = 150.0
TIMEOUT_S = 300


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), q in 0..100."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def start_app(db: Path) -> Any:
    """The app on `db`, switched to the heatmap page once (the cold run)."""
    from streamlit.testing.v1 import AppTest

    os.environ["CXDATA_DB"] = str(db)
    os.environ["CXDATA_LOAD_SAMPLE_ON_EMPTY"] = "false"
    os.chdir(ROOT)  # the router names its pages relative to the checkout
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT_S)
    at.run()
    check(at, first=True)
    at.switch_page(PAGE).run()
    check(at)
    return at


def check(at: Any, first: bool = False) -> None:
    """The run worked and, after the switch, shows the heatmap page with its charts."""
    if at.exception:
        raise SystemExit(f"the app raised: {at.exception}")
    if first:
        return
    titles = [t.value for t in at.title]
    if titles != ["Journey heatmaps"]:
        raise SystemExit(f"expected the Journey heatmaps page, got titles {titles}")
    metrics = {m.label: m.value for m in at.metric}
    if metrics.get("Observations") in (None, "0"):
        raise SystemExit(f"the page shows no observations: {metrics}")


def time_reruns(at: Any, runs: int) -> list[float]:
    """Wall time of each warm `at.run()`, in ms."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
    check(at)
    return times


@contextmanager
def profiled_script_thread(profile: cProfile.Profile) -> Iterator[None]:
    """Profile the script thread (AppTest runs each rerun in a new thread; cProfile in
    Python 3.11 sees only the thread that enables it)."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    original = LocalScriptRunner._run_script_thread

    def run(self: Any) -> None:
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    LocalScriptRunner._run_script_thread = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        LocalScriptRunner._run_script_thread = original  # type: ignore[method-assign]


# What the router and the heatmap page call on every rerun: (module, attribute). Each is
# wrapped with a wall-clock timer (microseconds of overhead), so the breakdown is not
# inflated like a profiler's. Times are inclusive: a call's time contains its callees.
TIMED_CALLS = [
    ("cxdata.app.data", "store"),
    ("cxdata.app.data", "ensure_data"),
    ("cxdata.app.data", "refresh_version"),
    ("cxdata.app.widgets", "sidebar_filters"),
    ("cxdata.app.data", "options"),
    ("cxdata.app.data", "scores"),
    ("cxdata.app.data", "totals"),
    ("cxdata.app.data", "segment_choices"),
    ("cxdata.app.data", "attribute_names"),
    ("cxdata.app.views", "heatmap_chart"),
    ("cxdata.app.views", "emotion_curve_chart"),
    ("cxdata.analysis.order", "levels_in_journey_order"),
    ("cxdata.app.data", "touchpoint_order"),
    ("cxdata.app.views", "show_chart"),
    ("cxdata.app.views", "downloads"),
    ("cxdata.store.database", "Store.data_version"),
    ("cxdata.store.database", "Store.get_meta"),
    ("cxdata.store.database", "Store.query_df"),
    ("cxdata.store.database", "Store._open_with_retry"),
    ("cxdata.analysis.scoring", "totals"),
    ("cxdata.analysis.scoring", "headline"),
    ("cxdata.display.charts", "heatmap"),
    ("cxdata.display.charts", "emotion_curve"),
    ("streamlit", "navigation"),
    ("streamlit", "altair_chart"),
    ("streamlit", "vega_lite_chart"),
    ("streamlit.delta_generator", "DeltaGenerator.download_button"),
    ("streamlit", "metric"),
    ("streamlit", "selectbox"),
    ("streamlit", "multiselect"),
    ("streamlit", "date_input"),
    ("streamlit", "markdown"),
]
"""Calls that no longer exist (the app changes) are skipped."""


HINTS = {
    "streamlit.altair_chart": "converts and validates the Altair chart on every rerun: cache "
    "chart.to_dict() (built with alt.theme 'none', as Streamlit does) per data version and "
    "render it with st.vega_lite_chart",
    "cxdata.display.charts.heatmap": (
        "Altair validates every encoding with jsonschema: build the chart once per data "
        "version (st.cache_resource)"
    ),
    "cxdata.display.charts.emotion_curve": (
        "build the chart once per data version (st.cache_resource)"
    ),
    "cxdata.store.database.Store._open_with_retry": (
        "each DuckDB open costs tens of ms: fewer opens per rerun (cache per data version)"
    ),
    "cxdata.store.database.Store.data_version": (
        "one DuckDB open per rerun: reuse the version while the database file and its .wal "
        "are unchanged (os.stat: mtime_ns, size)"
    ),
    "cxdata.analysis.scoring.totals": (
        "an uncached query per rerun: cache per data version and filters"
    ),
    "cxdata.app.data.attribute_names": ("an uncached query per rerun: cache per data version"),
    "cxdata.store.database.Store.query_df": ("an uncached query per rerun: cache per data version"),
}
"""What to do about a call that takes a large share of a warm rerun."""


@contextmanager
def timed_calls(spent: dict[str, list[float]]) -> Iterator[None]:
    """Wrap TIMED_CALLS with timers that add to `spent[name]` (seconds per call)."""
    import functools
    import importlib

    undo = []
    for module_name, attr in TIMED_CALLS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name, None)
        if original is None:
            continue
        inherited = isinstance(owner, type) and name not in owner.__dict__
        label = f"{module_name}.{attr}"
        spent.setdefault(label, [])

        def wrapper(*a: Any, _f: Any = original, _l: str = label, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                spent[_l].append(time.perf_counter() - start)

        functools.update_wrapper(wrapper, original)
        setattr(owner, name, wrapper)
        undo.append((owner, name, original, inherited))
    try:
        yield
    finally:
        for owner, name, original, inherited in reversed(undo):
            if inherited:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def breakdown(at: Any, runs: int) -> dict[str, Any]:
    """Wall-clock ms per rerun of each call in TIMED_CALLS, over `runs` warm reruns."""
    spent: dict[str, list[float]] = {}
    with timed_calls(spent):
        wall = time_reruns(at, runs)
    calls = [
        {"call": name, "ms_per_rerun": sum(t) * 1000 / runs, "calls_per_rerun": len(t) / runs}
        for name, t in spent.items()
        if t
    ]
    calls.sort(key=lambda r: -r["ms_per_rerun"])
    median = statistics.median(wall)
    for r in calls:
        if r["ms_per_rerun"] >= 0.1 * median and r["call"] in HINTS:
            r["suggestion"] = HINTS[r["call"]]
    return {"runs": runs, "median_ms": median, "calls": calls}


def print_breakdown(found: dict[str, Any]) -> None:
    print(
        f"\nWhere a warm rerun goes (wall clock, {found['runs']} reruns, median "
        f"{found['median_ms']:.0f} ms; inclusive, so nested calls overlap):"
    )
    for r in found["calls"]:
        print(f"    {r['ms_per_rerun']:8.1f} ms  x{r['calls_per_rerun']:<4g} {r['call']}")
    suggested = [r for r in found["calls"] if "suggestion" in r]
    if suggested:
        print("  suggestions (calls taking over 10% of the rerun):")
    for r in suggested:
        print(f"    {r['call']}: {r['suggestion']}")


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    path = Path(filename)
    try:
        return f"{path.relative_to(ROOT)}:{line}({name})"
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :]) + f":{line}({name})"
    if "python3" in filename and "/lib/" in filename:
        return f"{path.name}:{line}({name})"
    return f"{filename}:{line}({name})" if line else name


SKIPPED = ("streamlit/navigation/page.py", "contextlib.py")


def _ours(filename: str) -> bool:
    return filename.startswith(str(ROOT)) and "/bench/" not in filename


def profile_reruns(at: Any, runs: int) -> dict[str, Any]:
    """cProfile over `runs` warm reruns: the project's own functions by cumulative time,
    and the library calls they make directly (what each line of ours costs)."""
    profile = cProfile.Profile()
    with profiled_script_thread(profile):
        wall = time_reruns(at, runs)
    stats = pstats.Stats(profile)
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    ours = []
    direct: dict[tuple[str, int, str], float] = {}
    for key, (_cc, calls, _tt, cum, callers) in table.items():
        if key[2] == "<module>" or _where(key).startswith(SKIPPED):
            continue  # the scripts themselves, and wrappers that only contain the rest
        if _ours(key[0]):
            ours.append({"function": _where(key), "ms_per_rerun": cum * 1000 / runs,
                         "calls_per_rerun": calls / runs})  # fmt: skip
        else:
            from_ours = sum(v[3] for caller, v in callers.items() if _ours(caller[0]))
            if from_ours:
                direct[key] = from_ours
    ours.sort(key=lambda r: -r["ms_per_rerun"])
    library = [
        {"function": _where(k), "ms_per_rerun": v * 1000 / runs}
        for k, v in sorted(direct.items(), key=lambda kv: -kv[1])
    ]
    return {
        "profiled_runs": runs,
        "profiled_median_ms": statistics.median(wall),
        "ours": ours[:25],
        "library_calls_from_ours": library[:20],
    }


def print_profile(found: dict[str, Any]) -> None:
    print(
        f"\nProfile of {found['profiled_runs']} warm reruns (cProfile in the script thread; "
        f"median {found['profiled_median_ms']:.0f} ms with the profiler's overhead)"
    )
    print("  project functions, cumulative ms per rerun:")
    for r in found["ours"][:15]:
        print(f"    {r['ms_per_rerun']:8.1f}  x{r['calls_per_rerun']:<4g} {r['function']}")
    print("  library calls made directly by project code, cumulative ms per rerun:")
    for r in found["library_calls_from_ours"][:15]:
        print(f"    {r['ms_per_rerun']:8.1f}  {r['function']}")


def measure(db: Path, args: argparse.Namespace, info: dict[str, Any], command: str) -> int:
    """Cold start, timed warm reruns, and a profile when asked or when the target is missed."""
    load_before = os.getloadavg()
    start = time.perf_counter()
    at = start_app(db)
    cold = (time.perf_counter() - start) * 1000
    print(f"cold start + switch to the heatmap page: {cold:,.0f} ms (fills the caches)")

    times = time_reruns(at, args.runs)
    median, p90 = statistics.median(times), percentile(times, 90)
    load_after = os.getloadavg()
    met = median < TARGET_MS
    print(
        f"\nwarm rerun of the heatmap page, {args.rows:,} observations, {args.runs} runs:\n"
        f"  median {median:.1f} ms, p90 {p90:.1f} ms, min {min(times):.1f} ms, "
        f"max {max(times):.1f} ms"
    )
    verdict = "MET" if met else "MISSED"
    print(f"  [{verdict}] target: warm rerun under {TARGET_MS:g} ms (median {median:.1f} ms)")
    warn_if_busy(load_before, load_after)

    profile: dict[str, Any] | None = None
    if args.profile == "always" or (args.profile == "auto" and not met):
        profile = {"breakdown": breakdown(at, args.profile_runs)}
        print_breakdown(profile["breakdown"])
        profile["cprofile"] = profile_reruns(at, args.profile_runs)
        print_profile(profile["cprofile"])

    report = {
        "benchmark": "page",
        "page": PAGE,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "rows": args.rows,
        "machine": info,
        "load_average": {"before": load_before, "after": load_after},
        "note": "AppTest: in-process, no browser; server-side rerun time",
        "cold_ms": cold,
        "warm_ms": {
            "median": median,
            "p90": p90,
            "min": min(times),
            "max": max(times),
            "runs": times,
        },
        "target": {"target": f"warm rerun under {TARGET_MS:g} ms (median)", "met": met},
        "profile": profile,
    }
    write_json(args.out, report)
    print(f"\nResults written to {args.out}")
    return 0 if met else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations")
    parser.add_argument("--runs", type=int, default=20, help="timed warm reruns")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="profile warm reruns: when the target is missed (auto)")  # fmt: skip
    parser.add_argument("--profile-runs", type=int, default=5, help="reruns to profile")
    add_paths(parser, RESULTS / "page.json", "folder for generated stores")
    args = parser.parse_args(argv)

    info = machine({**PACKAGES, "streamlit": "streamlit"})
    command = command_line(__file__, argv)
    print_header(command, info, {"Streamlit": "streamlit", "DuckDB": "duckdb"})
    db = generate_store(args.rows, args.work)
    print(f"store: {db}")
    print(
        "AppTest runs the page script in this process, without a browser: the times are "
        "server-side reruns (no network, no rendering)."
    )

    with private_copy(db) as copy:
        return measure(copy, args, info, command)


if __name__ == "__main__":
    sys.exit(main())
