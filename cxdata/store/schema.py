"""The database schema as numbered migrations, each recorded in `meta` when applied.

A store only ever moves forward: `migrate` applies the steps a database has not seen yet,
so a file made by an older cxdata opens with every table the code expects.
"""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 4

_MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE batch_id_seq START 1",
        """CREATE TABLE batches (
            batch_id INTEGER PRIMARY KEY,
            source_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            study VARCHAR,
            rows BIGINT NOT NULL,
            customers BIGINT NOT NULL,
            mapping VARCHAR NOT NULL,
            warnings VARCHAR,
            imported_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE observations (
            batch_id INTEGER NOT NULL,
            source_row BIGINT NOT NULL,
            observation_id VARCHAR,
            customer_id VARCHAR NOT NULL,
            study VARCHAR,
            stage VARCHAR NOT NULL,
            touchpoint VARCHAR,
            channel VARCHAR,
            interaction VARCHAR,
            method VARCHAR,
            observer VARCHAR,
            note VARCHAR,
            score DOUBLE NOT NULL,
            observed_at TIMESTAMP)""",
        """CREATE TABLE customer_attributes (
            batch_id INTEGER NOT NULL,
            customer_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            dtype VARCHAR NOT NULL,
            value VARCHAR,
            number DOUBLE)""",
        "CREATE TABLE stages (name VARCHAR PRIMARY KEY, position INTEGER NOT NULL)",
    ],
    # The journey framework, versioned: every changed import adds a version, the latest
    # is active, old ones stay so earlier batches can be traced to their catalogue.
    2: [
        """CREATE TABLE framework_versions (
            version INTEGER PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            source_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL)""",
        """CREATE TABLE framework_stages (
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            PRIMARY KEY (version, name))""",
        """CREATE TABLE framework_touchpoints (
            version INTEGER NOT NULL,
            stage VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            PRIMARY KEY (version, stage, name))""",
        """CREATE TABLE framework_interactions (
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            code VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            stage VARCHAR NOT NULL,
            touchpoint VARCHAR,
            score DOUBLE NOT NULL,
            moment_of_truth BOOLEAN NOT NULL,
            PRIMARY KEY (version, code))""",
    ],
    3: [
        """CREATE TABLE persona_models (
            model_id INTEGER PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            settings VARCHAR NOT NULL,
            features VARCHAR NOT NULL,
            k INTEGER NOT NULL,
            diagnostics VARCHAR NOT NULL,
            explanation VARCHAR NOT NULL,
            profiles VARCHAR NOT NULL,
            fingerprint VARCHAR NOT NULL)""",
        """CREATE TABLE persona_assignments (
            model_id INTEGER NOT NULL,
            customer_id VARCHAR NOT NULL,
            persona INTEGER NOT NULL)""",
        """CREATE TABLE persona_names (
            model_id INTEGER NOT NULL,
            persona INTEGER NOT NULL,
            name VARCHAR NOT NULL,
            generated VARCHAR NOT NULL,
            PRIMARY KEY (model_id, persona))""",
    ],
    # Who imported, removed or erased what, and when (cxdata/audit.py).
    4: [
        "CREATE SEQUENCE audit_id_seq START 1",
        """CREATE TABLE audit (
            id BIGINT PRIMARY KEY,
            "at" TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            details JSON NOT NULL)""",
    ],
}


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the schema to SCHEMA_VERSION, one transaction per step (take the write lock).
    A step that fails is rolled back whole, so the file stays at the last step that
    completed and the connection is usable again; the error is raised."""
    for target in range(schema_version(con) + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            for ddl in _MIGRATIONS[target]:
                con.execute(ddl)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The last step applied; 0 for a new file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


PERIODS = ("observed_month", "observed_quarter", "observed_year")
"""Periods that analysis derives from `observations.observed_at` (e.g. 2026-03, 2026-Q1,
2026). Prefixed so they cannot be mistaken for a file's own `month` or `year` column."""
DERIVED_NAMES = (*PERIODS, "persona")
"""Grouping names analysis derives itself: an import refuses an attribute or outcome of the
same name (it would be shadowed), naming the file and the column."""
