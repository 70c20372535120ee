"""The sample data set into a store: what a fresh app shows at once."""

from __future__ import annotations

from cxdata.framework import import_framework
from cxdata.ingest import IngestResult, ingest_file, load_mapping
from cxdata.ingest.result import Progress
from cxdata.sample.synthetic import DATA_FILES, FRAMEWORK_FILE, SAMPLE_DIR, STUDY_OF_FILE
from cxdata.sample.write import mapping_for
from cxdata.store import Store
from cxdata.store.audit import DEFAULT_ACTOR


def load_sample(
    store: Store, progress: Progress | None = None, *, actor: str = DEFAULT_ACTOR
) -> list[IngestResult]:
    """Import the committed sample data set: its journey framework first (so every sample
    stage is known), then each file with its mapping, if it has one."""
    import_framework(store, SAMPLE_DIR / FRAMEWORK_FILE, actor=actor)
    results = []
    for i, name in enumerate(DATA_FILES):
        if progress:
            progress(i / len(DATA_FILES), f"Loading sample data: {name}")
        path = SAMPLE_DIR / name
        mapping_path = mapping_for(path)
        mapping = load_mapping(mapping_path) if mapping_path else None
        results.append(
            ingest_file(store, path, mapping=mapping, study=STUDY_OF_FILE.get(name), actor=actor)
        )
    return results
