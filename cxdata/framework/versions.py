"""Framework versions in the store: every changed import adds a version, the latest is the
active one, and old ones stay, so an import never silently rewrites the catalogue earlier
batches were scored with.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxdata.framework.files import load_framework_file
from cxdata.framework.model import Framework, Interaction, Stage
from cxdata.store.audit import DEFAULT_ACTOR, record
from cxdata.store.database import Store


def save_framework(
    store: Store, fw: Framework, source_name: str, *, actor: str = DEFAULT_ACTOR
) -> tuple[int, bool]:
    """Store `fw` as a new version unless it equals the active one: (version, created)."""
    digest = fw.sha256()
    with store.transaction() as con:
        row = con.execute(
            "SELECT version, sha256 FROM framework_versions ORDER BY version DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[1] == digest:
            return int(row[0]), False
        version = 1 if row is None else int(row[0]) + 1
        con.execute(
            "INSERT INTO framework_versions VALUES (?, now(), ?, ?)", [version, source_name, digest]
        )
        con.executemany(
            "INSERT INTO framework_stages VALUES (?, ?, ?)",
            [[version, i, s.name] for i, s in enumerate(fw.stages)],
        )
        touchpoints = [
            [version, s.name, i, t] for s in fw.stages for i, t in enumerate(s.touchpoints)
        ]
        if touchpoints:
            con.executemany("INSERT INTO framework_touchpoints VALUES (?, ?, ?, ?)", touchpoints)
        if fw.interactions:
            con.executemany(
                "INSERT INTO framework_interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [version, i, x.code, x.label, x.stage, x.touchpoint, x.score, x.moment_of_truth]
                    for i, x in enumerate(fw.interactions)
                ],
            )
        details = {"version": version, "file": source_name, "sha256": digest}
        record(con, actor, "framework_import", details | {"summary": fw.summary()})
    return version, True


def import_framework(store: Store, path: Path | str, *, actor: str = DEFAULT_ACTOR) -> int:
    """Check and store a framework file; returns the active version afterwards."""
    fw = load_framework_file(path, store.settings)
    return save_framework(store, fw, Path(path).name, actor=actor)[0]


def active_framework(store: Store, version: int | None = None) -> Framework | None:
    """The active (latest) framework, or the given version; None when there is none."""
    with store.connect() as con:
        if version is None:
            row = con.execute("SELECT max(version) FROM framework_versions").fetchone()
            if row is None or row[0] is None:
                return None
            version = int(row[0])
        names = con.execute(
            "SELECT name FROM framework_stages WHERE version = ? ORDER BY position", [version]
        ).fetchall()
        tps = con.execute(
            "SELECT stage, name FROM framework_touchpoints WHERE version = ? ORDER BY position",
            [version],
        ).fetchall()
        rows = con.execute(
            "SELECT code, label, stage, touchpoint, score, moment_of_truth "
            "FROM framework_interactions WHERE version = ? ORDER BY position",
            [version],
        ).fetchall()
    if not names:
        return None
    stages = tuple(Stage(n, tuple(t for s, t in tps if s == n)) for (n,) in names)
    return Framework(stages, tuple(Interaction(*r) for r in rows))


def framework_versions(store: Store) -> pd.DataFrame:
    """Every stored version, newest first, with its counts; the first row is active."""
    return store.query_df(
        """SELECT v.version, v.created_at, v.source_name,
                  (SELECT count(*) FROM framework_stages s WHERE s.version = v.version)
                      AS stages,
                  (SELECT count(*) FROM framework_touchpoints t WHERE t.version = v.version)
                      AS touchpoints,
                  (SELECT count(*) FROM framework_interactions i WHERE i.version = v.version)
                      AS interactions,
                  v.sha256
           FROM framework_versions v ORDER BY v.version DESC"""
    )
