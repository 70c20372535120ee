"""Same content, another mapping: the answer says the mapping differs, and a replace removes
the old batch and imports the new one in one transaction (atomic under kill -9)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cxdata.cli import main
from cxdata.config import Settings
from cxdata.ingest import IngestError, Mapping, ingest_file
from cxdata.store import Store

AREA = Mapping(attributes={"area": "region"})
ZONE = Mapping(attributes={"zone": "region"})
CSV = "customer_id,stage,score,region\nA,Usage,1,North\nB,Usage,-2,South\nA,Support,3,North\n"


def attribute_names(store: Store) -> list[str]:
    return sorted(store.query_df("SELECT DISTINCT name FROM customer_attributes")["name"])


def test_same_mapping_answers_already_imported(store, write):
    path = write("visits.csv", CSV)
    ingest_file(store, path, mapping=AREA)
    again = ingest_file(store, path, mapping=AREA)
    assert (again.already_imported, again.mapping_differs) == (True, False)
    assert again.message() == "visits.csv: already imported as batch 1; nothing added"


@pytest.mark.parametrize("dry_run", [False, True])
def test_another_mapping_is_named_and_nothing_changes(store, write, dry_run):
    path = write("visits.csv", CSV)
    ingest_file(store, path, mapping=AREA)
    again = ingest_file(store, path, mapping=ZONE, dry_run=dry_run)
    assert (again.already_imported, again.mapping_differs, again.batch_id) == (True, True, 1)
    assert "already imported as batch 1 with a different mapping; nothing added" in (
        again.message()
    )
    assert "cxdata ingest --replace" in again.message()
    assert store.batches()["batch_id"].tolist() == [1]
    assert attribute_names(store) == ["area"]


def test_another_mapping_with_an_error_lists_the_error(store, write):
    path = write("visits.csv", CSV)
    ingest_file(store, path, mapping=AREA)
    with pytest.raises(IngestError) as err:
        ingest_file(store, path, mapping=Mapping(attributes={"zone": "Region "}))
    assert err.value.problems[0].reason == "attribute zone: column not in the file"


def test_replace_removes_the_old_batch_and_imports_the_new_one(store, write):
    path = write("visits.csv", CSV)
    ingest_file(store, path, mapping=AREA)
    preview = ingest_file(store, path, mapping=ZONE, replace=True, dry_run=True)
    assert preview.message().startswith("visits.csv: 3 observations would be imported, "
                                        "replacing batch 1")  # fmt: skip
    result = ingest_file(store, path, mapping=ZONE, replace=True)
    assert (result.batch_id, result.replaces, result.rows, result.customers) == (2, 1, 3, 2)
    assert "imported as batch 2, replacing batch 1: 3 observations" in result.message()
    assert store.batches()["batch_id"].tolist() == [2]
    assert store.query_df("SELECT count(*) AS n FROM observations")["n"][0] == 3
    assert attribute_names(store) == ["zone"]
    actions = store.query_df("SELECT action FROM audit ORDER BY id")["action"].tolist()
    assert actions[-2:] == ["remove_batch", "import"]


def test_cli_replace(store, write, capsys):
    path = write("visits.csv", CSV)
    mapping = write("zone.toml", '[attributes]\nzone = "region"\n')
    db = ["--db", str(store.path)]
    assert main(["ingest", str(path), *db]) == 0
    assert main(["ingest", str(path), "--mapping", str(mapping), *db]) == 0
    assert "with a different mapping; nothing added" in capsys.readouterr().out
    assert main(["ingest", str(path), "--mapping", str(mapping), "--replace", *db]) == 0
    assert ", replacing batch 1: 3 observations" in capsys.readouterr().out
    assert store.batches()["batch_id"].tolist() == [2]


# -- kill -9 during a replace --------------------------------------------------------------
KILLS = 12
MAX_ATTEMPTS = 30
ROWS = 20_000
SEED = 20261207

FORKER = """
import os, signal, sys, time
from pathlib import Path
from cxdata.config import Settings
from cxdata.ingest import Mapping, ingest_file
from cxdata.store import Store

print("ready", flush=True)
for line in sys.stdin:
    db, path, name, delay = line.rstrip("\\n").split("\\t")
    pid = os.fork()
    if pid == 0:  # the replacing import: the region column stored under `name`
        mapping = Mapping(attributes={name: "region"})
        ingest_file(Store(Path(db), Settings(lock_timeout_s=30)), Path(path), mapping=mapping,
                    replace=True)
        os._exit(0)
    done, status = 0, 0
    deadline = time.monotonic() + float(delay)
    while not done and time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        time.sleep(0.002)
    if not done:  # still running: our own child, not yet reaped
        os.kill(pid, signal.SIGKILL)
        status = os.waitpid(pid, 0)[1]
    print(status, flush=True)
"""


def state(db: Path) -> tuple[int, int, list[str]]:
    """Reopen the store: (batch id, its rows, attribute names); exactly one batch, complete."""
    store = Store.open(Settings(lock_timeout_s=30), db)
    batches = store.batches()
    assert len(batches) == 1, batches
    stored = store.query_df("SELECT count(*) AS n FROM observations")["n"][0]
    assert stored == batches["rows"][0] == ROWS
    return int(batches["batch_id"][0]), int(stored), attribute_names(store)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="SIGKILL and fork are POSIX")
def test_replace_killed_at_random_moments_leaves_old_or_new(tmp_path):
    path = tmp_path / "big.csv"
    lines = ["customer_id,stage,score,region"]
    lines += [f"C{i % 997},Usage,{i % 7 - 3},R{i % 5}" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    db = tmp_path / "replace.duckdb"
    ingest_file(Store.open(Settings(), db), path, mapping=Mapping(attributes={"m0": "region"}))
    assert state(db)[::2] == (1, ["m0"])
    forker = subprocess.Popen([sys.executable, "-c", FORKER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert forker.stdin and forker.stdout
    assert forker.stdout.readline().strip() == "ready"
    rng = random.Random(SEED)
    landed = replaced = 0
    try:

        def replace(name: str, delay: float) -> int:
            forker.stdin.write(f"{db}\t{path}\t{name}\t{delay:.4f}\n")  # type: ignore[union-attr]
            forker.stdin.flush()  # type: ignore[union-attr]
            return int(forker.stdout.readline())  # type: ignore[union-attr]

        started = time.monotonic()
        assert replace("m1", 600) == 0  # a complete replace sets the range of kill moments
        full_s = time.monotonic() - started
        current = state(db)
        assert current[::2] == (2, ["m1"])
        for k in range(2, MAX_ATTEMPTS):
            if landed == KILLS:
                break
            status = replace(f"m{k}", rng.uniform(0, full_s))
            landed += os.WIFSIGNALED(status)
            assert os.WIFSIGNALED(status) or os.WEXITSTATUS(status) == 0
            after = state(db)
            if after == current:  # the old batch, untouched
                continue
            # or the new one: a new batch id, every attribute under the new name
            assert after[0] > current[0] and after[2] == [f"m{k}"], (current, after)
            replaced += 1
            current = after
    finally:
        forker.stdin.close()
        forker.wait(timeout=60)
    assert landed == KILLS
    print(f"\n{landed} SIGKILLs during a replace; {replaced} replaces committed; "
          f"a full replace of {ROWS:,} rows took {full_s:.2f} s")  # fmt: skip


def test_upload_page_offers_to_replace_a_batch_imported_with_another_mapping(app_db):
    from tests.conftest import shown, start_app

    at = start_app("app_pages/upload.py", 180)
    at.file_uploader(key="upload_file").upload("visits.csv", CSV.encode(), "text/csv").run()
    at.button(key="upload_import").click().run()
    assert not at.exception, at.exception
    store = Store.open(Settings(), app_db)
    first = int(store.batches()["batch_id"].max())
    assert not any(b.key == "upload_replace" for b in at.button)  # same mapping: no offer
    zone = b'[attributes]\nzone = "region"\n'
    at.file_uploader(key="upload_mapping").upload("zone.toml", zone, "").run()
    assert not at.exception, at.exception
    assert f"already imported as batch {first} with a different mapping" in shown(at.info[0].value)
    at.button(key="upload_replace").click().run()
    assert not at.exception, at.exception
    assert any(f"replacing batch {first}" in shown(s.value) for s in at.success)
    batches = store.batches()
    assert first not in batches["batch_id"].tolist()
    mine = batches[batches["source_name"] == "visits.csv"]
    assert len(mine) == 1 and int(mine["batch_id"].iloc[0]) > first
    names = store.query_df(
        "SELECT DISTINCT name FROM customer_attributes WHERE batch_id = ?",
        [int(mine["batch_id"].iloc[0])],
    )["name"].tolist()
    assert names == ["zone"]
