"""Privacy: pseudonymised customer ids, erasing a customer from the file, the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from cxdata.cli import main
from cxdata.config import Settings
from cxdata.framework import import_framework
from cxdata.ingest import IngestError, ingest_file
from cxdata.store import Store, StoreError
from cxdata.store.privacy import PseudonymError, erase_customer, key_id, pseudonym, read_key
from tests.conftest import table_checksum

SECRET_ID = "ERASE-ME-4711"
LOG = (
    "customer_id,stage,score,region\n"
    f"{SECRET_ID},Purchase,2,North\n{SECRET_ID},Delivery,-1,North\n"
    "C2,Purchase,1,South\nC3,Delivery,-2,South\n"
)
MORE = f"customer_id,stage,score\n{SECRET_ID},Usage,3\nC4,Usage,1\n"


def raw_hits(path: Path, needle: str) -> int:
    """Occurrences of `needle` in the bytes of the database file and its WAL."""
    files = [path, path.with_name(path.name + ".wal")]
    return sum(f.read_bytes().count(needle.encode()) for f in files if f.exists())


def audit_rows(store: Store) -> list[tuple[str, str, dict]]:
    log = store.audit_log().iloc[::-1]
    rows = zip(log.actor, log.action, log.details, strict=True)
    return [(actor, action, json.loads(details)) for actor, action, details in rows]


# -- pseudonymisation -------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "pseudonym.key"


@pytest.fixture
def pseudo(store: Store, key_file: Path) -> Store:
    settings = store.settings.replace(pseudonymise=True, pseudonym_key_file=key_file)
    return replace(store, settings=settings)


def test_engine_hmac_equals_python_hmac(pseudo, write, key_file):
    ingest_file(pseudo, write("a.csv", LOG))
    key = read_key(key_file)
    stored = set(pseudo.query_df("SELECT DISTINCT customer_id FROM observations").customer_id)
    expected = {hmac.new(key, c.encode(), hashlib.sha256).hexdigest()[:32]
                for c in (SECRET_ID, "C2", "C3")}  # fmt: skip
    assert stored == expected
    attrs = pseudo.query_df("SELECT DISTINCT customer_id FROM customer_attributes")
    assert set(attrs.customer_id) == expected
    assert (
        pseudonym(key, "Müller ß") == hmac.new(key, "Müller ß".encode(), "sha256").hexdigest()[:32]
    )


def test_pseudonymised_import_keeps_no_original_id_and_links_batches(pseudo, write, key_file):
    ingest_file(pseudo, write("a.csv", LOG))
    ingest_file(pseudo, write("b.csv", MORE))
    assert raw_hits(pseudo.path, SECRET_ID) == 0
    key = read_key(key_file)
    mine = pseudo.query_df(
        "SELECT batch_id, stage FROM observations WHERE customer_id = ? ORDER BY batch_id, stage",
        [pseudonym(key, SECRET_ID)],
    )
    assert mine.values.tolist() == [[1, "Delivery"], [1, "Purchase"], [2, "Usage"]]
    # the key is a hex file only its owner can read, and only its id is in the store
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert pseudo.get_meta("pseudonym_key_id") == key_id(key)
    assert raw_hits(pseudo.path, key.hex()) == 0


def test_missing_or_wrong_key_refuses_and_changes_nothing(pseudo, write, key_file):
    ingest_file(pseudo, write("a.csv", LOG))
    before = table_checksum(pseudo)
    moved = key_file.with_name("elsewhere.key")
    key_file.rename(moved)
    with pytest.raises(PseudonymError, match="does not exist.*restore that key file"):
        ingest_file(pseudo, write("b.csv", MORE))
    assert not key_file.exists()  # never silently replaced by a new key
    key_file.write_text("ab" * 32 + "\n")
    with pytest.raises(PseudonymError, match="is not the key this store's ids were made with"):
        ingest_file(pseudo, write("b.csv", MORE))
    key_file.write_text("not hex\n")
    with pytest.raises(PseudonymError, match="does not hold a hex key"):
        ingest_file(pseudo, write("b.csv", MORE))
    assert table_checksum(pseudo) == before


def test_ids_are_never_mixed(store, pseudo, write):
    ingest_file(store, write("a.csv", LOG))  # original ids
    with pytest.raises(PseudonymError, match="already holds original customer ids"):
        ingest_file(pseudo, write("b.csv", MORE))
    other = Store.open(pseudo.settings, store.path.with_name("other.duckdb"))
    ingest_file(other, write("b.csv", MORE))
    plain = replace(other, settings=other.settings.replace(pseudonymise=False))
    with pytest.raises(PseudonymError, match="holds pseudonymised customer ids"):
        ingest_file(plain, write("c.csv", LOG))


def test_cli_says_where_it_created_the_key(capsys, write, tmp_path, monkeypatch, key_file):
    monkeypatch.setenv("CXDATA_PSEUDONYMISE", "true")
    monkeypatch.setenv("CXDATA_PSEUDONYM_KEY_FILE", str(key_file))
    db = str(tmp_path / "cli.duckdb")
    assert main(["ingest", str(write("a.csv", LOG)), "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"created a new pseudonymisation key at {key_file}: back it up" in out
    assert main(["ingest", str(write("b.csv", MORE)), "--db", db]) == 0
    assert "created a new" not in capsys.readouterr().out


# -- erasure ----------------------------------------------------------------------------


def test_erase_removes_every_row_and_every_byte(capsys, store, write):
    ingest_file(store, write("a.csv", LOG))
    ingest_file(store, write("b.csv", MORE))
    with store.connect() as con:  # a persona assignment for the customer, as a fit makes
        con.execute("INSERT INTO persona_assignments VALUES (1, ?, 1), (1, 'C2', 2)", [SECRET_ID])
    assert raw_hits(store.path, SECRET_ID) > 0
    size_before = store.path.stat().st_size
    version = store.data_version()
    code = main(["erase", "--customer", SECRET_ID, "--db", str(store.path)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(
        "erased the customer: 3 observations, 1 attribute values, 1 persona assignments "
        "(batches 1, 2); database rewritten:"
    )
    assert f"{size_before:,} ->" in out
    assert raw_hits(store.path, SECRET_ID) == 0
    assert not store.path.with_name(store.path.name + ".wal").exists()
    for table in ("observations", "customer_attributes", "persona_assignments"):
        n = store.query_df(f"SELECT count(*) AS n FROM {table} WHERE customer_id = ?", [SECRET_ID])
        assert n.n[0] == 0
    assert store.stats()["observations"] == 3  # the others stay
    assert store.data_version() != version  # the app's caches see the erasure
    batches = store.batches().sort_values("batch_id")
    assert batches[["rows", "customers"]].values.tolist() == [[2, 2], [1, 1]]
    actor, action, details = audit_rows(store)[-1]
    assert action == "erase" and actor
    assert details == {"observations": 3, "attributes": 1, "assignments": 1,
                       "batches": [1, 2], "pseudonymised": False}  # fmt: skip
    assert SECRET_ID not in store.audit_log().to_string()
    # the store works on: batch ids continue, the same file stays "already imported"
    assert ingest_file(store, write("c.csv", "customer_id,stage,score\nC9,Usage,1\n")).batch_id == 3
    assert ingest_file(store, write("a2.csv", LOG)).already_imported


def test_erase_in_a_pseudonymised_store_takes_the_original_id(pseudo, write, key_file):
    ingest_file(pseudo, write("a.csv", LOG))
    stored = pseudonym(read_key(key_file), SECRET_ID)
    assert raw_hits(pseudo.path, stored) > 0
    erased = erase_customer(pseudo, SECRET_ID, actor="dpo@example.org")
    assert (erased.observations, erased.attributes) == (2, 1)
    assert raw_hits(pseudo.path, stored) == 0
    assert audit_rows(pseudo)[-1][:2] == ("dpo@example.org", "erase")
    assert audit_rows(pseudo)[-1][2]["pseudonymised"] is True


def test_erase_unknown_customer_changes_nothing(capsys, store, write):
    ingest_file(store, write("a.csv", LOG))
    before = table_checksum(store)
    assert main(["erase", "--customer", "nobody", "--db", str(store.path)]) == 1
    assert "no such customer in the store; nothing was erased" in capsys.readouterr().err
    assert table_checksum(store) == before
    with pytest.raises(StoreError):
        erase_customer(store, "nobody")


# -- audit ------------------------------------------------------------------------------


def test_audit_records_imports_removals_framework_and_personas(store, write, tmp_path):
    fw = write("fw.toml", '[[stages]]\nname = "Purchase"\n[[stages]]\nname = "Delivery"\n')
    import_framework(store, fw, actor="ana@example.org")
    ingest_file(store, write("a.csv", LOG), actor="ana@example.org")
    with pytest.raises(IngestError):
        ingest_file(store, write("bad.csv", "customer_id,stage,score\nC1,Purchase,99\n"))
    store.remove_batch(1, actor="ben@example.org")
    from cxdata.personas.models import rename

    with store.connect() as con:
        con.execute(
            "INSERT INTO persona_models VALUES (1, now(), '{}', '{}', 2, '[]', '', '[]', '')"
        )
        con.execute("INSERT INTO persona_names VALUES (1, 1, 'One', 'One')")
    rename(store, 1, 1, "Loyal", actor="cleo@example.org")
    rows = audit_rows(store)
    assert [(a, b) for a, b, _ in rows] == [
        ("ana@example.org", "framework_import"),
        ("ana@example.org", "import"),
        ("ben@example.org", "remove_batch"),
        ("cleo@example.org", "persona_rename"),
    ]  # the failed import left no row
    assert rows[1][2]["rows"] == 4 and rows[1][2]["customers"] == 3
    assert rows[2][2]["observations"] == 4 and rows[2][2]["file"] == "a.csv"
    assert rows[3][2] == {"model_id": 1, "persona": 1, "name": "Loyal"}
    log = store.audit_log()
    assert log["at"].is_monotonic_decreasing


def test_cli_audit_lists_as_json_with_the_os_user(capsys, write, tmp_path, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "researcher")
    db = str(tmp_path / "cli.duckdb")
    main(["ingest", str(write("a.csv", LOG)), "--db", db])
    main(["remove-batch", "1", "--db", db])
    capsys.readouterr()
    assert main(["audit", "--db", db, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("researcher", "remove_batch"),
        ("researcher", "import"),
    ]
    assert entries[1]["details"]["file"].endswith("a.csv")


def test_settings_defaults_keep_the_key_outside_the_database_folder():
    settings = Settings()
    assert settings.pseudonymise is False
    key = settings.pseudonym_key_file.expanduser()
    assert key.is_absolute() and settings.db_path.resolve().parent not in key.parents
