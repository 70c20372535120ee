"""The direct CSV path (read once, checked during the insert) stores exactly what the staged
path stores, and a file it cannot take leaves no trace before the staged path reports."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import duckdb
import pytest

import cxdata.ingest.load as load
from cxdata.config import Settings
from cxdata.framework import import_framework
from cxdata.ingest import IngestError, Mapping, ingest_file
from cxdata.ingest.plan import number
from cxdata.ingest.readers import text_columns, unguard
from cxdata.store import Store
from cxdata.store.privacy import PseudonymError, pseudonym, read_key
from tests.conftest import table_checksum

CSV = (
    "observation_id;Kunde;Phase;touchpoint;{codes};Bewertung;Zeitpunkt;study;age;tier;vip;"
    "since;nps\n"
    "O1; C1 ;Purchase;Till;K-TILL;2;2026-03-14 09:30;;34;Gold;true;2020-01-01;9\n"
    'O2;C1;Purchase;Till;;"-1,5";14.03.2026 09:30;Shop;34;Gold;true;2020-01-01;9\n'
    "O3;C2;Usage;;K-TILL;3;;Shop;;Silver;false;;7.5\n"
    "O4;C3;Onboarding;App;;-3;2026/03/15 10:00;Web;51;  ;TRUE;2019-05-05;\n"
    "O5;C3;Usage;App;;0;2026-03-16;Web;51;Gold;TRUE;2019-05-05;3\n"
)
FRAMEWORK = """
[[stages]]
name = "Purchase"
touchpoints = ["Till"]

[[stages]]
name = "Usage"
touchpoints = ["App"]

[[interactions]]
code = "K-TILL"
label = "Paid at the till"
stage = "Purchase"
touchpoint = "Till"
score = 2
"""


def _only(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Make ingest_file take one path: 'direct' (staged would fail) or 'staged'."""
    if path == "direct":

        def refuse(*_a: object, **_k: object) -> None:
            raise AssertionError("the staged path was taken")

        monkeypatch.setattr(load, "_ingest_staged", refuse)
    else:
        monkeypatch.setattr(load, "ingest_csv_direct", lambda *_a, **_k: None)


def _contents(store: Store) -> dict[str, list[tuple[object, ...]]]:
    with store.connect() as con:
        return {
            "observations": con.execute("SELECT * FROM observations ORDER BY ALL").fetchall(),
            "attributes": con.execute("SELECT * FROM customer_attributes ORDER BY ALL").fetchall(),
            "batches": con.execute(
                "SELECT * EXCLUDE (imported_at) FROM batches ORDER BY ALL"
            ).fetchall(),
            "stages": con.execute("SELECT * FROM stages ORDER BY ALL").fetchall(),
        }


@pytest.mark.parametrize("framework", [False, True])
def test_direct_and_staged_paths_store_the_same(tmp_path, write, monkeypatch, framework):
    # With a framework, interaction codes would make the insert look scores up in the
    # catalogue (that file takes the staged path, see the last test): here the codes
    # column is an extra column then.
    path = write("visits.csv", CSV.format(codes="codes" if framework else "interaction"))
    mapping = Mapping(stage_order=("Purchase", "Usage"), attributes={"since_year": "since"})
    framework_file = write("fw.toml", FRAMEWORK)
    results, contents = {}, {}
    for which in ("direct", "staged"):
        store = Store.open(Settings(), tmp_path / which / "cx.duckdb")
        if framework:
            import_framework(store, framework_file)
        with monkeypatch.context() as m:
            _only(m, which)
            results[which] = ingest_file(store, path, mapping=mapping)
        contents[which] = _contents(store)
    assert contents["direct"] == contents["staged"]
    direct, staged = results["direct"], results["staged"]
    assert (direct.batch_id, direct.rows, direct.customers) == (1, 5, 3)
    assert (
        direct.extras
        == staged.extras
        == {
            **({"codes": "VARCHAR"} if framework else {}),
            "age": "BIGINT",
            "tier": "VARCHAR",
            "vip": "BOOLEAN",
            "since": "TIMESTAMP",
            "nps": "DOUBLE",
        }
    )
    assert direct.description == staged.description == "CSV, UTF-8, semicolon-separated, 5 rows"
    assert direct.warnings == staged.warnings
    if framework:
        assert [(w.row, w.value) for w in direct.warnings] == [(5, "Onboarding")]
    else:  # without a framework, the mapping's stage order is the known list
        assert [(w.row, w.value) for w in direct.warnings] == [(5, "Onboarding")]
    observations = contents["direct"]["observations"]
    assert [(o[1], o[2], o[3], o[4], o[12]) for o in observations] == [
        (2, "O1", "C1", "visits", 2.0),
        (3, "O2", "C1", "Shop", -1.5),
        (4, "O3", "C2", "Shop", 3.0),
        (5, "O4", "C3", "Web", -3.0),
        (6, "O5", "C3", "Web", 0.0),
    ]


def test_direct_path_takes_a_clean_file(store, write, monkeypatch):
    _only(monkeypatch, "direct")
    result = ingest_file(store, write("ok.csv", "customer_id,stage,score\nC1,Usage,1\n"))
    assert (result.batch_id, result.rows) == (1, 1)
    again = ingest_file(store, write("copy.csv", "customer_id,stage,score\nC1,Usage,1\n"))
    assert again.already_imported and again.batch_id == 1
    assert store.stats()["observations"] == 1


@pytest.mark.parametrize(
    "body",
    [
        "C1,Usage,1\nC2,Usage,9\n",  # a rule fails in the last row
        "C1,Usage,1\nC2,Usage,1,extra\n",  # a rejected (ragged) line
    ],
)
def test_failed_direct_attempt_leaves_no_trace(store, write, body):
    ingest_file(store, write("first.csv", "customer_id,stage,score\nC0,Usage,1\n"))
    before = table_checksum(store)
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("bad.csv", "customer_id,stage,score\n" + body))
    assert [p.row for p in err.value.problems] == [3]
    assert table_checksum(store) == before
    # the batch id sequence did not move either: the next batch is number 2
    later = ingest_file(store, write("later.csv", "customer_id,stage,score\nC9,Usage,2\n"))
    assert later.batch_id == 2


def test_observation_ids_repeated_or_stored_go_to_the_staged_report(store, write):
    ingest_file(store, write("a.csv", "observation_id,customer_id,stage,score\nA1,C1,Usage,1\n"))
    with pytest.raises(IngestError) as err:
        ingest_file(
            store,
            write(
                "b.csv", "observation_id,customer_id,stage,score\nB1,C1,Usage,1\nA1,C2,Usage,1\n"
            ),
        )
    assert [(p.row, p.reason) for p in err.value.problems] == [
        (3, "observation_id already imported in batch 1")
    ]
    with pytest.raises(IngestError) as err:
        ingest_file(
            store,
            write("c.csv", "observation_id,customer_id,stage,score\nC1,C1,Usage,1\n,C3,Usage,1\n"
                  "C1,C2,Usage,1\n"),
        )  # fmt: skip
    assert {p.row for p in err.value.problems} == {2, 4}  # an empty id is no repeat


def test_text_columns_trim_exactly_like_trim():
    """The cheaper conditional trim gives DuckDB's trim() result on every kind of value."""
    values = ["", " ", "   ", "a", " a", "a ", " a b ", "\ta\t", "\u00a0x\u00a0", "\u3000y",
              "é", " é ", "z\u202f", "👍🏽", "\u200bq", "a\n",
              # around the first-byte comparisons: control bytes, '!', the apostrophe
              # (a formula guard is undone) and its neighbours '&' and '('
              "\x1fa", "!a", "'=x", "''=x", " '-1 ", "'a", "&a", "(a", "\x7f"]  # fmt: skip
    con = duckdb.connect()
    con.execute("CREATE TABLE v (x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[v] for v in values])
    rows = con.execute(
        f"SELECT x, {text_columns({'x': 'VARCHAR'})}, nullif(trim(x), '') FROM v"
    ).fetchall()
    expected = [(x, None if trimmed is None else unguard(trimmed)) for x, _, trimmed in rows]
    assert [(x, ours) for x, ours, _ in rows] == expected
    assert [ours for x, ours, _ in rows if x.strip(" ").startswith("'")] == [
        "=x",
        "'=x",
        "-1",
        "'a",
    ]
    assert rows[4][1] == "a" and rows[8][1] == "x" and rows[11][1] == "é"


def test_framework_scores_take_the_staged_path(store, write, monkeypatch):
    """Scores from interaction codes need the catalogue, and a join in the direct insert
    shuffled 9 in 10 of 1M rows (their source_row was wrong): such files are staged, and
    every observation keeps its own row of the file."""
    import_framework(store, write("fw.toml", FRAMEWORK))
    staged = []
    real = load._ingest_staged
    monkeypatch.setattr(load, "_ingest_staged", lambda *a, **k: staged.append(1) or real(*a, **k))
    n = 30_000
    body = "".join(
        f"O{i},C{i % 997},{'Purchase' if i % 2 else 'Usage'},K-TILL,{'' if i % 3 else i % 7 - 3}\n"
        for i in range(n)
    )
    result = ingest_file(
        store, write("codes.csv", "observation_id,customer_id,stage,interaction,score\n" + body)
    )
    assert result.rows == n and staged == [1]
    with store.connect() as con:
        wrong = con.execute(
            "SELECT count(*) FROM observations WHERE observation_id <> 'O' || (source_row - 2)"
        ).fetchone()
        scored = con.execute(
            "SELECT count(*) FROM observations WHERE observation_id = 'O1' AND score = 2"
        ).fetchone()
    assert wrong == (0,)
    assert scored == (1,)


def _audit(store: Store) -> list[tuple[str, str, dict[str, object]]]:
    log = store.audit_log()
    return [
        (a, b, json.loads(d)) for a, b, d in zip(log.actor, log.action, log.details, strict=True)
    ]


def test_both_paths_write_the_same_audit_row_in_the_import(tmp_path, write, monkeypatch):
    path = write("visits.csv", CSV.format(codes="interaction"))
    rows = {}
    for which in ("direct", "staged"):
        store = Store.open(Settings(), tmp_path / which / "cx.duckdb")
        with monkeypatch.context() as m:
            _only(m, which)
            ingest_file(store, path, actor="ana@example.org")
            again = ingest_file(store, path, actor="bo@example.org")
        assert again.already_imported  # adds nothing, so no audit row either
        rows[which] = _audit(store)
    assert rows["direct"] == rows["staged"]
    [(actor, action, details)] = rows["direct"]
    assert (actor, action) == ("ana@example.org", "import")
    assert details | {"sha256": None} == {
        "batch_id": 1, "file": "visits.csv", "rows": 5, "customers": 3,
        "pseudonymised": False, "sha256": None,
    }  # fmt: skip
    assert len(str(details["sha256"])) == 64


def test_a_failed_direct_attempt_writes_no_audit_row(store, write):
    with pytest.raises(IngestError):
        ingest_file(store, write("bad.csv", "customer_id,stage,score\nC1,Usage,9\n"), actor="x")
    assert _audit(store) == []


PLAIN = "customer_id,stage,score,region\nRAW-ID-0815,Purchase,2,North\nC2,Usage,1,South\n"


def test_pseudonymised_imports_take_the_staged_path(store, write, tmp_path, monkeypatch):
    """The direct insert would put raw ids into the database (even a rolled-back insert
    writes to the WAL), so a pseudonymising store never takes it; observations and
    attributes hold the pseudonyms, and no byte of the raw id is in the files."""
    key_file = tmp_path / "keys" / "cx.key"
    settings = store.settings.replace(pseudonymise=True, pseudonym_key_file=key_file)
    pseudo = replace(store, settings=settings)
    attempts: list[object] = []
    real = load.ingest_csv_direct
    monkeypatch.setattr(load, "ingest_csv_direct",
                        lambda *a, **k: attempts.append(real(*a, **k)) or attempts[-1])  # fmt: skip
    result = ingest_file(pseudo, write("plain.csv", PLAIN))
    assert attempts == [None] and (result.rows, result.customers) == (2, 2)
    key = read_key(key_file)
    ids = {pseudonym(key, "RAW-ID-0815"), pseudonym(key, "C2")}
    with pseudo.connect() as con:
        obs = {r[0] for r in con.execute("SELECT customer_id FROM observations").fetchall()}
        attrs = con.execute(
            "SELECT customer_id, value FROM customer_attributes ORDER BY value"
        ).fetchall()
        con.execute("CHECKPOINT")
    assert obs == ids
    assert attrs == [(pseudonym(key, "RAW-ID-0815"), "North"), (pseudonym(key, "C2"), "South")]
    files = [pseudo.path, pseudo.path.with_name(pseudo.path.name + ".wal")]
    assert sum(f.read_bytes().count(b"RAW-ID-0815") for f in files if f.exists()) == 0
    [(_, _, details)] = _audit(pseudo)
    assert details["pseudonymised"] is True


def test_raw_ids_into_a_pseudonymised_store_are_refused_before_the_direct_insert(
    store, write, tmp_path
):
    key_file = tmp_path / "keys" / "cx.key"
    settings = store.settings.replace(pseudonymise=True, pseudonym_key_file=key_file)
    pseudo = replace(store, settings=settings)
    ingest_file(pseudo, write("first.csv", "customer_id,stage,score\nC1,Usage,1\n"))
    before = table_checksum(store)
    with pytest.raises(PseudonymError, match="holds pseudonymised customer ids"):
        ingest_file(store, write("plain.csv", PLAIN))
    assert table_checksum(store) == before
    files = [store.path, store.path.with_name(store.path.name + ".wal")]
    assert sum(f.read_bytes().count(b"RAW-ID-0815") for f in files if f.exists()) == 0


def test_eight_direct_imports_of_one_file_at_once_store_it_once(store, write, monkeypatch):
    """The direct transaction runs under the write lock and its "already imported" check
    sees every earlier batch: no DuckDB conflict sends a thread to the staged path."""
    _only(monkeypatch, "direct")
    rows = "".join(f"O{i},C{i % 9},Purchase,{i % 7 - 3}\n" for i in range(500))
    path = write("same.csv", "observation_id,customer_id,stage,score\n" + rows)
    store = replace(store, settings=store.settings.replace(lock_timeout_s=30.0))
    start = threading.Barrier(8)
    results: list[object] = []
    errors: list[BaseException] = []

    def upload() -> None:
        start.wait()
        try:
            results.append(ingest_file(store, path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r.already_imported for r in results) == [False] + [True] * 7  # type: ignore[attr-defined]
    assert (store.stats()["observations"], store.stats()["batches"]) == (500, 1)
    assert len(_audit(store)) == 1


def test_legacy_encoding_only_in_an_attribute_column_goes_to_the_staged_path(store, write):
    """The direct insert does not read the attribute column, so it cannot see that the
    file is not UTF-8; the second read does, and the staged path decodes Windows-1252."""
    body = "customer_id,stage,score,region\nC1,Purchase,2,North\nC2,Usage,-1,Köln\n"
    result = ingest_file(store, write("legacy.csv", body.encode("cp1252")))
    assert (result.batch_id, result.rows, result.customers) == (1, 2, 2)
    assert result.description == "CSV, Windows-1252, comma-separated, 2 rows"
    values = store.query_df("SELECT customer_id, value FROM customer_attributes ORDER BY 1")
    assert values.values.tolist() == [["C1", "North"], ["C2", "Köln"]]


def test_both_paths_undo_the_export_formula_guard(tmp_path, write, monkeypatch):
    """cxdata's CSV export writes `'=x` for a value `=x`; both paths read it back as `=x`,
    in values and headers."""
    path = write(
        "guarded.csv",
        "customer_id,stage,score,'=tier,plain\n'=C1,Purchase,1,'+x,''-y\nC2,Usage,2,'@z,ok\n",
    )
    contents = {}
    for which in ("direct", "staged"):
        store = Store.open(Settings(), tmp_path / which / "cx.duckdb")
        with monkeypatch.context() as m:
            _only(m, which)
            ingest_file(store, path)
        contents[which] = _contents(store)
    assert contents["direct"] == contents["staged"]
    attrs = [(a[1], a[2], a[5]) for a in contents["direct"]["attributes"]]
    assert attrs == [("=C1", "=tier", "+x"), ("=C1", "plain", "'-y"),
                     ("C2", "=tier", "@z"), ("C2", "plain", "ok")]  # fmt: skip


@pytest.mark.parametrize("column", ["region", "stage"])
def test_an_unclosed_quote_is_reported_by_the_staged_path(store, write, column):
    """Quotes that do not pair up make the sniffer read without quoting: the direct path
    fails on a value starting with a quote, in an attribute column (checked in the table
    of distinct values) as in a column the insert reads, and the staged path reports it."""
    rows = {"region": 'C1,Usage,1,"North\nC2,Usage,2,South\n',
            "stage": 'C1,Usage,1,North\nC2,"Usage,2,South\n'}  # fmt: skip
    with pytest.raises(IngestError) as err:
        ingest_file(store, write("q.csv", "customer_id,stage,score,region\n" + rows[column]))
    problems = [(p.row, p.column, p.reason) for p in err.value.problems if p.severity == "error"]
    row = 2 if column == "region" else 3
    assert problems == [
        (row, column, "a quote is not closed (the file's quotes do not pair up, so none were read)")
    ]
    assert store.stats()["batches"] == 0


def test_a_refused_file_leaves_no_gap_in_the_batch_ids(tmp_path):
    """The direct path reads the next batch id without drawing it: a file refused after its
    rows went in (here: an observation id already stored) draws none, so the next
    import is batch 2."""
    store = Store.open(Settings(), tmp_path / "cx.duckdb")
    header = "observation_id,customer_id,stage,score\n"
    first, again, second = (tmp_path / n for n in ("first.csv", "again.csv", "second.csv"))
    first.write_text(header + "O1,C1,Purchase,1\nO2,C2,Usage,-1\n")
    again.write_text(header + "O3,C3,Purchase,2\nO1,C4,Usage,0\n")
    second.write_text(header + "O5,C5,Purchase,3\n")
    assert ingest_file(store, first).batch_id == 1
    with pytest.raises(IngestError, match="O1"):
        ingest_file(store, again)
    result = ingest_file(store, second)
    assert result.batch_id == 2
    rows = store.query_df("SELECT batch_id, source_row, observation_id FROM observations")
    assert sorted(rows.itertuples(index=False, name=None)) == [
        (1, 2, "O1"), (1, 3, "O2"), (2, 2, "O5")]  # fmt: skip


def test_number_casts_first_and_replaces_a_comma_only_when_needed():
    """`number` skips the replace where the plain cast succeeds: the same DOUBLE (or NULL)
    as replacing every comma first, on decimal commas, thousands commas and junk."""
    values = ["1,5", "-0,5", "1,000", "1,2,3", ",5", "5,", "1,5e2", "1e3,", "3", " 3 ", "1.5",
              "", " ", "nan", "inf", "0x1F", "1_000", "\u00a03"]  # fmt: skip
    con = duckdb.connect()
    for value in values:
        ours, reference = con.execute(
            f"SELECT {number('$v')}, TRY_CAST(replace($v, ',', '.') AS DOUBLE)", {"v": value}
        ).fetchone()
        assert ours == reference or (ours != ours and reference != reference), value
    assert con.execute(f"SELECT {number(chr(39) + '2,5' + chr(39))}").fetchone() == (2.5,)
