"""Start with my own data: remove what the sample brought (its batches and its journey
framework) in one audited transaction, once a researcher is ready for real data.

Sample batches are recognised by content, not by name: a batch is the sample's when its
SHA-256 is that of one of the committed sample files (what `load_sample` imports), and a
framework version is the sample's when its content hash equals the sample framework file's.
A framework the researcher imported or edited themselves is never removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cxdata.errors import CxError
from cxdata.framework import load_framework_file
from cxdata.ingest.load import sha256_of
from cxdata.sample.synthetic import DATA_FILES, FRAMEWORK_FILE, SAMPLE_DIR
from cxdata.store import Store
from cxdata.store.audit import DEFAULT_ACTOR, record


class NotOnlySampleData(CxError):
    """The store holds data that did not come from the sample; nothing is removed."""


@dataclass(frozen=True)
class RemovedSample:
    """What "Start with my own data" removed."""

    batches: int
    observations: int
    framework_versions: int
    persona_models: int


@cache
def sample_hashes() -> tuple[frozenset[str], str]:
    """The SHA-256 of each committed sample data file, and the sample framework's content hash."""
    files = frozenset(sha256_of(SAMPLE_DIR / name) for name in DATA_FILES)
    return files, load_framework_file(SAMPLE_DIR / FRAMEWORK_FILE).sha256()


def only_sample_data(store: Store) -> bool:
    """True when the store has sample batches or the sample framework, and no other batch."""
    files, framework = sample_hashes()
    with store.connect() as con:
        shas = {r[0] for r in con.execute("SELECT sha256 FROM batches").fetchall()}
        fw = con.execute(
            "SELECT count(*) FROM framework_versions WHERE sha256 = ?", [framework]
        ).fetchone()
    has_fw = bool(fw and fw[0])
    return shas <= files and bool(shas or has_fw)


def remove_sample(store: Store, *, actor: str = DEFAULT_ACTOR) -> RemovedSample:
    """Remove every sample batch (observations, customer attributes), what was derived from
    them (persona models, the stage order their mappings declared) and every version of the
    sample framework, in one transaction with one audit row. Refused when any batch is not
    the sample's."""
    files, framework = sample_hashes()
    with store.transaction() as con:
        batches = con.execute("SELECT batch_id, sha256 FROM batches").fetchall()
        foreign = [b for b, sha in batches if sha not in files]
        if foreign:
            raise NotOnlySampleData(
                f"The store holds {len(foreign)} batch(es) that are not the sample's (first: "
                f"batch {foreign[0]}); remove batches one by one on the Upload page instead."
            )
        ids = [b for b, _ in batches]
        row = con.execute(
            "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM persona_models)"
        ).fetchone()
        observations, models = (int(row[0]), int(row[1])) if row else (0, 0)
        # every batch is the sample's, so everything they brought goes
        con.execute("DELETE FROM observations")
        con.execute("DELETE FROM customer_attributes")
        con.execute("DELETE FROM batches")
        # No observation is left, so every persona model describes customers who are gone,
        # and the stage order the sample's mappings declared would flag a new file's stages.
        con.execute("DELETE FROM persona_assignments")
        con.execute("DELETE FROM persona_names")
        con.execute("DELETE FROM persona_models")
        con.execute("DELETE FROM stages")
        versions = [
            int(v)
            for (v,) in con.execute(
                "SELECT version FROM framework_versions WHERE sha256 = ?", [framework]
            ).fetchall()
        ]
        for version in versions:
            con.execute("DELETE FROM framework_interactions WHERE version = ?", [version])
            con.execute("DELETE FROM framework_touchpoints WHERE version = ?", [version])
            con.execute("DELETE FROM framework_stages WHERE version = ?", [version])
            con.execute("DELETE FROM framework_versions WHERE version = ?", [version])
        details = {"batches": ids, "observations": observations,
                   "framework_versions": versions, "persona_models": models}  # fmt: skip
        record(con, actor, "remove_sample", details)
    return RemovedSample(len(ids), observations, len(versions), models)
