"""Privacy: pseudonymised customer ids and erasing one customer for good.

Pseudonymisation replaces every customer id at import by HMAC-SHA256(key, id) (hex, the
first 32 characters = 128 bits). The key lives in a file outside the database (by
default in the user's config folder), so a copy of the database alone cannot be turned
back into ids, not even by trying every possible id. The same key gives the same
pseudonym in every import and every store, so studies still link up.

A store remembers which key made its ids (`meta.pseudonym_key_id`, an HMAC of a fixed
text, which reveals nothing about the key). An import never mixes: with pseudonymisation
on it needs that same key, and with it off it refuses a pseudonymised store. A key is
created only for a store that holds no ids yet; a missing key is an error, never quietly
replaced, because a new key would give returning customers new ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cxdata.config import Settings
from cxdata.store.audit import DEFAULT_ACTOR, record
from cxdata.store.database import Store, StoreError
from cxdata.store.scratch import remove_leftovers

KEY_META = "pseudonym_key_id"
PSEUDONYM_CHARS = 32
_MAPPING_TABLE = "cx_pseudonyms"


class PseudonymError(StoreError):
    """The pseudonymisation key is missing, unreadable or not the store's."""


def pseudonym(key: bytes, customer_id: str) -> str:
    """The pseudonym of one id: hex HMAC-SHA256 of its UTF-8 text, 128 bits."""
    digest = hmac.new(key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_CHARS]


def key_id(key: bytes) -> str:
    """Names a key without revealing it: which key made a store's ids."""
    return hmac.new(key, b"cxdata pseudonym key id", hashlib.sha256).hexdigest()[:16]


def create_key(path: Path) -> bytes:
    """A new random 256-bit key, written as hex to `path` (owner-only, never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


def read_key(path: Path) -> bytes:
    """The key in `path` (64 hex characters), or PseudonymError saying what is wrong."""
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except FileNotFoundError:
        raise PseudonymError(f"The pseudonymisation key file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it does not hold a hex key"
        raise PseudonymError(f"Cannot read the pseudonymisation key {path}: {reason}.") from None
    if len(key) < 32:
        raise PseudonymError(f"The pseudonymisation key {path} is shorter than 256 bits.")
    return key


def key_for_import(con: duckdb.DuckDBPyConnection, settings: Settings) -> bytes | None:
    """The key to pseudonymise this import with, None when pseudonymisation is off.

    Runs inside the import's transaction: the first pseudonymised import records the
    key's id in the store. Creates the key file only when the store holds no ids yet.
    """
    row = con.execute("SELECT value FROM meta WHERE key = ?", [KEY_META]).fetchone()
    made_with = None if row is None else str(row[0])
    batches_row = con.execute("SELECT count(*) FROM batches").fetchone()
    batches = int(batches_row[0]) if batches_row else 0
    path = settings.pseudonym_key_file.expanduser()
    if not settings.pseudonymise:
        if made_with is not None:
            raise PseudonymError(
                "This store holds pseudonymised customer ids; importing original ids would mix "
                "the two. Turn pseudonymisation on (CXDATA_PSEUDONYMISE=true) with its key."
            )
        return None
    if made_with is None and batches:
        raise PseudonymError(
            f"This store already holds original customer ids from {batches} batch(es); "
            "pseudonymised ids would not match them. Use a new database for pseudonymised data."
        )
    if made_with is None and not path.exists():
        key = create_key(path)
    else:
        try:
            key = read_key(path)
        except PseudonymError as exc:
            raise PseudonymError(
                f"{exc} The ids in this store were made with key id {made_with}: restore that "
                "key file from your backup (a new key would give every customer a new id)."
            ) from None
    if made_with is not None and key_id(key) != made_with:
        raise PseudonymError(
            f"{path} is not the key this store's ids were made with (store: key id "
            f"{made_with}, this file: key id {key_id(key)})."
        )
    if made_with is None:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [KEY_META, key_id(key)])
    return key


def customer_id_expr(
    con: duckdb.DuckDBPyConnection, expr: str, table: str, settings: Settings
) -> str:
    """THE ingest hook: the SQL expression that yields the stored customer id of a row of
    the staging `table`, given the expression `expr` of its id as imported.

    Off: `expr` itself. On: every distinct id gets its pseudonym in a temporary mapping
    table (connection-local, never in the database file), and the expression reads the
    pseudonym from it. DuckDB has no keyed HMAC, so the engine computes RFC 2104's
    H((K xor opad) || H((K xor ipad) || id)) with its sha256; the padded keys are bound
    parameters. `pseudonym()` is the same function in Python (a test checks they agree).
    """
    key = key_for_import(con, settings)
    if key is None:
        return expr
    inner, outer = _padded(key)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_MAPPING_TABLE} AS
            SELECT original,
                   left(sha256($outer || unhex(sha256($inner || encode(original)))), $n)
                       AS pseudonym
            FROM (SELECT DISTINCT {expr} AS original FROM {table})
            WHERE original IS NOT NULL""",
        {"inner": inner, "outer": outer, "n": PSEUDONYM_CHARS},
    )
    return mapped_customer_id(expr)


def mapped_customer_id(expr: str) -> str:
    """The pseudonym of the imported id `expr`, from the mapping table that
    `customer_id_expr` made on this connection (for tables other than the one it read
    whose ids are among those: the ingest's per-customer values)."""
    return f"(SELECT m.pseudonym FROM {_MAPPING_TABLE} m WHERE m.original = {expr})"


def _padded(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104; keys up to 64 bytes)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def stored_customer_id(store: Store, customer_id: str) -> str:
    """The id under which the store keeps `customer_id` (its pseudonym in a
    pseudonymised store, which needs the key)."""
    made_with = store.get_meta(KEY_META)
    if made_with is None:
        return customer_id
    path = store.settings.pseudonym_key_file.expanduser()
    key = read_key(path)
    if key_id(key) != made_with:
        raise PseudonymError(
            f"{path} is not the key this store's ids were made with (store: key id "
            f"{made_with}, this file: key id {key_id(key)})."
        )
    return pseudonym(key, customer_id)


@dataclass
class Erasure:
    """What erasing one customer removed, and the file size around the compaction."""

    observations: int
    attributes: int
    assignments: int
    batches: list[int]
    bytes_before: int
    bytes_after: int
    leftovers: int = 0
    """Copies left in the scratch folder by killed imports, removed first."""

    def message(self) -> str:
        removed = f"; leftover copies removed from the scratch folder: {self.leftovers}"
        removed = removed if self.leftovers else ""
        return (
            f"erased the customer: {self.observations:,} observations, {self.attributes:,} "
            f"attribute values, {self.assignments:,} persona assignments (batches "
            f"{', '.join(map(str, self.batches)) or 'none'}); database rewritten: "
            f"{self.bytes_before:,} -> {self.bytes_after:,} bytes{removed}"
        )


def erase_customer(store: Store, customer_id: str, *, actor: str = DEFAULT_ACTOR) -> Erasure:
    """Remove every row of one customer, then rewrite the database file so no byte of
    them is left (DELETE alone leaves old pages in the file).

    `customer_id` is the id as the customer knows it; in a pseudonymised store it is
    pseudonymised with the key first (a stored pseudonym is accepted too). Batches keep
    their identity (so re-importing the same file stays "already imported" and does not
    bring the customer back) but their row and customer counts are updated; the audit
    row says how much was erased from which batches, never whose rows they were.

    First the copies that killed imports left in the scratch folder go, whatever they hold
    (even when the store itself has no row of the customer: a killed import committed
    nothing). A copy that a running import still uses is removed when that import ends.
    """
    leftovers = len(remove_leftovers(store.scratch_dir))
    candidates = [stored_customer_id(store, customer_id)]
    if candidates[0] != customer_id:
        candidates.append(customer_id)
    with store.transaction() as con:
        target = next((c for c in candidates if _has_customer(con, c)), None)
        if target is None:
            raise StoreError("There is no such customer in the store; nothing was erased.")
        batches = [int(b) for (b,) in con.execute(
            "SELECT DISTINCT batch_id FROM observations WHERE customer_id = ? UNION "
            "SELECT DISTINCT batch_id FROM customer_attributes WHERE customer_id = ? ORDER BY 1",
            [target, target]).fetchall()]  # fmt: skip
        counts = {}
        for table in ("observations", "customer_attributes", "persona_assignments"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE customer_id = ?", [target])
            counts[table] = int((n.fetchone() or (0,))[0])
            con.execute(f"DELETE FROM {table} WHERE customer_id = ?", [target])
        con.execute(
            """UPDATE batches SET
                   rows = (SELECT count(*) FROM observations o
                           WHERE o.batch_id = batches.batch_id),
                   customers = (SELECT count(DISTINCT customer_id) FROM observations o
                                WHERE o.batch_id = batches.batch_id)
               WHERE list_contains(?, batch_id)""",
            [batches],
        )
        record(con, actor, "erase", {"observations": counts["observations"],
                                     "attributes": counts["customer_attributes"],
                                     "assignments": counts["persona_assignments"],
                                     "batches": batches,
                                     "pseudonymised": target != customer_id})  # fmt: skip
    before, after = store.compact()
    return Erasure(counts["observations"], counts["customer_attributes"],
                   counts["persona_assignments"], batches, before, after, leftovers)  # fmt: skip


def _has_customer(con: duckdb.DuckDBPyConnection, customer_id: str) -> bool:
    row = con.execute(
        "SELECT EXISTS (SELECT 1 FROM observations WHERE customer_id = $c) "
        "OR EXISTS (SELECT 1 FROM customer_attributes WHERE customer_id = $c) "
        "OR EXISTS (SELECT 1 FROM persona_assignments WHERE customer_id = $c)",
        {"c": customer_id},
    ).fetchone()
    return bool(row and row[0])


def key_file_note(settings: Settings) -> str:
    """Where the key is, for messages after a first pseudonymised import created it."""
    return (
        f"created a new pseudonymisation key at {settings.pseudonym_key_file.expanduser()}: "
        "back it up and keep it away from the database (without it, new imports cannot be "
        "linked to these ids and customers cannot be erased by their original id)"
    )


def key_path(settings: Settings) -> Path:
    return settings.pseudonym_key_file.expanduser()
