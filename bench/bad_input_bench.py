"""How fast, and in how much memory, hostile files are refused (tests/corpus.py builds them).

    python bench/bad_input_bench.py [--repeat 5]

The test suite asserts *that* they are refused before anything is unpacked or read
(tests/test_bad_input.py); this prints *how long* it takes and the process's peak memory,
next to the naive alternative for the bomb: inflating it to count its bytes (streamed, so
it cannot exhaust memory; the Excel reader itself would keep every cell).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from _common import maxrss_mib, timed

from cxdata.config import Settings
from cxdata.ingest import IngestError, ingest_file
from cxdata.store import Store
from tests.corpus import CASES, build_corpus

HOSTILE = [
    "decompression_bomb.xlsx",
    "bomb_lying_sizes.xlsx",
    "entity_expansion.xlsx",
    "external_entity.xlsx",
    "claims_2gb.csv",
    "deep_nesting.json",
    "binary_garbage.csv",
]


def attempt(store: Store, path: Path) -> str:
    """Why the import of `path` was refused."""
    try:
        ingest_file(store, path)
    except IngestError as exc:
        return exc.problems[0].reason
    return "IMPORTED (unexpected)"


def refuse(store: Store, path: Path, repeat: int) -> tuple[float, str]:
    runs = [timed(lambda: attempt(store, path)) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def inflate_all(path: Path) -> tuple[float, int]:
    """The naive check: inflate every part and count the bytes (1 MB at a time)."""
    start, total = time.perf_counter(), 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as part:
                while chunk := part.read(1 << 20):
                    total += len(chunk)
    return time.perf_counter() - start, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxdata-bad-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        paths = build_corpus(folder / "corpus", [c for c in CASES if c.name in HOSTILE])
        print(f"corpus built in {time.perf_counter() - start:.1f} s; peak {maxrss_mib():,.0f} MB")
        store = Store.open(Settings(lock_timeout_s=5.0), folder / "db" / "cx.duckdb")
        print(f"{'file':<26}{'on disk':>14}{'claims':>12}{'refused in':>12}{'peak MB':>9}  reason")
        for name in HOSTILE:
            path = paths[name]
            claims = ""
            if zipfile.is_zipfile(path):
                claims = (
                    f"{sum(i.file_size for i in zipfile.ZipFile(path).infolist()) / 2**20:,.0f} MB"
                )
            seconds, reason = refuse(store, path, args.repeat)
            size = path.stat().st_size
            print(f"{name:<26}{size:>14,}{claims:>12}{seconds * 1000:>10.1f}ms"
                  f"{maxrss_mib():>9,.0f}  {reason[:70]}")  # fmt: skip
        naive, total = inflate_all(paths["decompression_bomb.xlsx"])
        print(f"naive check (inflate the bomb, streamed): {naive:.1f} s, {total / 2**20:,.0f} MB;"
              f" peak {maxrss_mib():,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
