"""Persona model selection on many customers, beside its limit (one k-means fit).

    python bench/personas_bench.py                          # 100k, 500k, 1M + the sample
    python bench/personas_bench.py --sizes 100000           # a quick check
    python bench/personas_bench.py --repeat 3               # fastest of 3 fresh runs per size
    python bench/personas_bench.py --profile 1000000        # cProfile one size, top calls

What is timed, per size, each in a fresh subprocess (so peak memory is that size's own):

- ``cxdata``: ``cxdata.personas.estimator.PersonaFinder().fit(frame)``, the
  full model selection the app and the CLI run: preprocessing (scale, impute with 0/1
  indicators, one-hot), k = 3..8 each with 10 reference starts and 10 bootstrap refits on a
  seeded 5,000-customer sample (silhouette + stability), then the final k-means on every
  customer from the sample's centres. The progress callback's timestamps split the time
  into phases: ``prepare`` (features of all customers), ``select`` (the k search) and
  ``final`` (the full-size fit, which runs the pipeline's ColumnTransformer again).
- ``limit``: the least any persona model costs: the same preprocessing once plus a single
  ``KMeans(n_clusters=5, n_init=1)`` on all customers at the planted k, with 2 threads;
  ``cxdata / limit`` is what choosing k reproducibly costs on top.

The synthetic customers have the layout ``customer_features`` produces: 6 stage scores
``score__<stage>`` (missing for ~15% of customers per stage: stage not observed), 6 counts
``n__<stage>`` (0 where not observed), 5 channel shares ``channel__<c>`` (summing to 1) and
3 categorical attributes ``attr__age_band`` / ``attr__loyalty_tier`` / ``attr__region``
(pandas string columns). They are drawn with numpy from 5 planted clusters of unequal size
(30/24/20/15/11%); each cluster is delighted at one stage and disappointed at another, has
a main channel and leans to one value of each attribute. The adjusted Rand index (ARI)
against the planted labels and the chosen k are reported (planted: 5).

``sample`` is the real path on the committed sample data: ``discover`` (features in the
engine, model selection, profiles, storing the model) on a fresh store loaded with
``cxdata.ingest.load_sample`` (the load is not timed).

Peak memory is the child's ``ru_maxrss`` (MiB, including the interpreter, imports and the
generated frame); ``VmHWM`` from /proc is printed beside it as a cross-check. With
``--repeat N`` every size runs N times (fresh processes, sizes interleaved) and the fastest
time and the highest peak are reported. The 1-minute load average when each child starts is
recorded too: on a shared machine other work slows the runs. Results go to the terminal and
``bench/results/personas.json``; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import RESULTS, ROOT, fastest, machine, maxrss_mib, vmhwm_mib, write_json
from _vocabulary import STAGES

RESULTS_FILE = RESULTS / "personas.json"
SIZES = [100_000, 500_000, 1_000_000]
TARGET_S = {500_000: 15.0, 1_000_000: 30.0}
TARGET_PEAK_MIB = 2048
PLANTED_K = 5
WEIGHTS = [0.30, 0.24, 0.20, 0.15, 0.11]
CHANNELS = ["app", "email", "phone", "store", "web"]
ATTRIBUTES = {
    "age_band": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
    "loyalty_tier": ["Basic", "Bronze", "Silver", "Gold"],
    "region": ["North", "South", "East", "West"],
}
UNOBSERVED = 0.15  # share of customers without observations at a given stage


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, list[str]], np.ndarray]:
    """`n` customers from 5 planted clusters: (features, groups, planted labels 0..4)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(PLANTED_K, size=n, p=WEIGHTS)
    means = np.full((PLANTED_K, len(STAGES)), 0.5)
    for c in range(PLANTED_K):
        means[c, c] = 3.0  # delighted at stage c
        means[c, (c + 2) % len(STAGES)] = -3.0  # disappointed two stages later
    columns: dict[str, Any] = {}
    counts = {}
    for s, stage in enumerate(STAGES):
        seen = rng.random(n) >= UNOBSERVED
        columns[f"score__{stage}"] = np.where(seen, rng.normal(means[labels, s], 1.5), np.nan)
        counts[f"n__{stage}"] = np.where(seen, rng.poisson(1.5, n) + 1, 0)
    columns |= counts
    alpha = np.ones((PLANTED_K, len(CHANNELS)))
    alpha[np.arange(PLANTED_K), np.arange(PLANTED_K) % len(CHANNELS)] = 8.0
    shares = rng.gamma(alpha[labels])
    shares /= shares.sum(axis=1, keepdims=True)
    for j, channel in enumerate(CHANNELS):
        columns[f"channel__{channel}"] = shares[:, j]
    for name, values in ATTRIBUTES.items():
        favourite = np.arange(PLANTED_K) % len(values)
        lean = rng.random(n) < 0.5
        codes = np.where(lean, favourite[labels], rng.integers(0, len(values), n))
        columns[f"attr__{name}"] = pd.array(np.asarray(values)[codes], dtype="str")
    index = pd.Index([f"C{i:07d}" for i in range(n)], name="customer_id")
    frame = pd.DataFrame(columns, index=index)
    categorical = [f"attr__{name}" for name in ATTRIBUTES]
    numeric = [c for c in frame.columns if c not in categorical]
    return frame, {"numeric": numeric, "categorical": categorical}, labels


def _peak_mib() -> dict[str, float]:
    """ru_maxrss (KiB on Linux) and VmHWM of this process, in MiB."""
    peak = {"ru_maxrss_mib": round(maxrss_mib(), 1)}
    vmhwm = vmhwm_mib()
    if vmhwm is not None:
        peak["vmhwm_mib"] = round(vmhwm, 1)
    return peak


def _phases(marks: list[tuple[float, str]], total: float) -> dict[str, float]:
    """Seconds per phase from the progress callback's (time, message) marks."""
    first_k = next((t for t, m in marks if m.startswith("Trying")), total)
    final = next((t for t, m in marks if m.startswith("Fitting")), total)
    return {
        "prepare": round(first_k, 3),
        "select": round(final - first_k, 3),
        "final": round(total - final, 3),
    }


def child_synthetic(n: int, profile: bool) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from cxdata.personas.estimator import PersonaFinder, make_pipeline

    load = os.getloadavg()[0]
    frame, groups, planted = synthetic(n)
    marks: list[tuple[float, str]] = []
    profiler = cProfile.Profile() if profile else None
    cpu = time.process_time()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    fit = PersonaFinder().fit(
        frame, progress=lambda _f, m: marks.append((time.perf_counter() - start, m))
    )
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    if profiler:
        profiler.disable()
    peak = _peak_mib()  # before the limit runs: the peak of the cxdata fit alone
    out: dict[str, Any] = {
        "size": n,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "phases": _phases(marks, seconds),
        "k": fit.k_,
        "ari": round(float(adjusted_rand_score(planted, fit.labels_)), 4),
        **peak,
        "load_1min": round(load, 2),
    }
    start = time.perf_counter()
    z = make_pipeline(groups, "kmeans", 2, 0).named_steps["features"].fit_transform(frame)
    once = KMeans(n_clusters=PLANTED_K, n_init=1, random_state=0).fit_predict(z.to_numpy(float))
    out["limit_seconds"] = round(time.perf_counter() - start, 3)
    out["limit_ari"] = round(float(adjusted_rand_score(planted, once)), 4)
    if profiler:
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
        out["profile"] = stream.getvalue()
    return out


def child_sample() -> dict[str, Any]:
    from cxdata.config import Settings
    from cxdata.personas.discovery import discover
    from cxdata.personas.estimator import PersonaSettings
    from cxdata.sample.load import load_sample
    from cxdata.store import Store

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cxdata-personas-bench-") as tmp:
        store = Store.open(Settings(), Path(tmp) / "sample.duckdb")
        load_sample(store)
        customers = store.stats()["customers"]
        start = time.perf_counter()
        model = discover(store, PersonaSettings())
        seconds = time.perf_counter() - start
    return {
        "size": "sample",
        "customers": customers,
        "seconds": round(seconds, 3),
        "k": model.k,
        "sizes": [p["size"] for p in model.profiles],
        **_peak_mib(),
        "load_1min": round(load, 2),
    }


def run_child(size: str, profile: bool = False) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its last stdout line is the JSON result."""
    args = [sys.executable, str(Path(__file__).resolve()), "--one", size]
    done = subprocess.run(
        args + (["--with-profile"] if profile else []),
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONHASHSEED": "0"},
    )
    if done.returncode != 0:
        raise SystemExit(f"child {size} failed:\n{done.stdout}\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run, with the highest peak memory of all runs and every run's time."""
    out = fastest(runs, ("ru_maxrss_mib", "vmhwm_mib"))
    out["runs"] = len(runs)
    return out


def verdicts(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    out = []
    for row in rows:
        target = TARGET_S.get(row["size"]) if isinstance(row["size"], int) else None
        if target is not None:
            out.append((f"{row['size']:,} customers under {target:g} s", row["seconds"] < target))
        out.append(
            (f"{row['size']:,} peak memory under {TARGET_PEAK_MIB} MiB"
             if isinstance(row["size"], int) else "sample peak memory under 2048 MiB",
             row["ru_maxrss_mib"] < TARGET_PEAK_MIB)
        )  # fmt: skip
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| customers | cxdata (s) | prepare / select / final (s) | limit (s) | cxdata / limit "
        "| peak ru_maxrss (MiB) | VmHWM (MiB) | chosen k | ARI (limit ARI) | load |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        if r["size"] == "sample":
            lines.append(
                f"| sample ({r['customers']:,}), `discover` | {r['seconds']:.2f} | – | – | – "
                f"| {r['ru_maxrss_mib']:,.0f} | {r.get('vmhwm_mib', 0):,.0f} | {r['k']} | – "
                f"| {r['load_1min']:.1f} |"
            )
            continue
        p = r["phases"]
        lines.append(
            f"| {r['size']:,} | {r['seconds']:.2f} | {p['prepare']:.1f} / {p['select']:.1f} / "
            f"{p['final']:.1f} | {r['limit_seconds']:.2f} | "
            f"{r['seconds'] / r['limit_seconds']:.1f}x | {r['ru_maxrss_mib']:,.0f} | "
            f"{r.get('vmhwm_mib', 0):,.0f} | {r['k']} | {r['ari']:.3f} ({r['limit_ari']:.3f}) "
            f"| {r['load_1min']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per size (best)")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample data run")
    parser.add_argument("--profile", type=int, metavar="SIZE", help="cProfile one size only")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode: a size or "sample"
    parser.add_argument("--with-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.one == "sample":
            result = child_sample()
        else:
            result = child_synthetic(int(args.one), args.with_profile)
        print(json.dumps(result))
        return 0
    if args.profile:
        result = run_child(str(args.profile), profile=True)
        print(result.pop("profile"))
        print(table([result]))
        return 0
    sizes = [str(size) for size in args.sizes] + ([] if args.no_sample else ["sample"])
    runs: dict[str, list[dict[str, Any]]] = {size: [] for size in sizes}
    for attempt in range(args.repeat):
        for size in sizes:
            runs[size].append(run_child(size))
            done = runs[size][-1]
            print(f"  run {attempt + 1}, {size}: {done['seconds']:.2f} s, load "
                  f"{done['load_1min']:.1f}", file=sys.stderr)  # fmt: skip
    rows = [best(runs[size]) for size in sizes]
    checks = verdicts(rows)
    print(table(rows))
    print()
    for text, ok in checks:
        print(f"{'met   ' if ok else 'MISSED'}  {text}")
    write_json(
        RESULTS_FILE,
        {
            "benchmark": "personas",
            "when": datetime.now().isoformat(timespec="seconds"),
            "machine": machine({p: p for p in ("scikit-learn", "numpy", "pandas", "duckdb")}),
            "repeat": args.repeat,
            "settings": "PersonaSettings() defaults: k auto in 3..8, kmeans, seed 0, "
            "10 bootstraps, 5,000-customer selection sample",
            "targets": {"seconds": TARGET_S, "peak_mib": TARGET_PEAK_MIB},
            "results": rows,
            "targets_met": all(ok for _, ok in checks),
        },
    )
    print(f"\nwritten to {RESULTS_FILE.relative_to(ROOT)}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
