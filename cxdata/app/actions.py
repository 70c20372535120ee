"""Everything the app does to the store or hands out as a file, each guarded by the role.

The pages call these, never the underlying functions, so a forbidden action is refused
here even when a page forgets to hide its button. Pure (no streamlit): the principal is
passed in, and the tests call every action with every role.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd

from cxdata.app.auth import Action, Principal, require
from cxdata.display.downloads import chart_png, chart_svg
from cxdata.ingest import IngestResult, Mapping, ingest_bytes, parse_mapping
from cxdata.ingest.export import safe_csv
from cxdata.store import Store, StoreError

if TYPE_CHECKING:
    from cxdata.analysis.filters import Filters
    from cxdata.engine import Engine
    from cxdata.personas.estimator import PersonaSettings, Progress
    from cxdata.personas.models import PersonaModel
    from cxdata.sample.remove import RemovedSample


def upload_mapping(
    mapping: bytes | None, mapping_name: str = "mapping.toml", row_ids: bool = False
) -> Mapping | None:
    """The mapping an upload uses: the TOML file's (problems named after that file), with
    "each row is one respondent" from the page's checkbox."""
    parsed = parse_mapping(mapping, mapping_name) if mapping else None
    if row_ids:
        return replace(parsed or Mapping(), row_ids=True)
    return parsed


def check_upload(
    principal: Principal, store: Store, name: str, data: bytes, **options: Any
) -> IngestResult:
    """A dry run of an upload (nothing is stored): needs the right to upload."""
    require(principal, Action.UPLOAD)
    return ingest_bytes(store, name, data, dry_run=True, **options)


def import_upload(
    principal: Principal,
    store: Store,
    name: str,
    data: bytes,
    mapping: bytes | None = None,
    mapping_name: str = "mapping.toml",
    row_ids: bool = False,
    **options: Any,
) -> IngestResult:
    """Import an uploaded file as one batch (mapping: the optional TOML mapping's bytes;
    row_ids: each row is one respondent)."""
    require(principal, Action.UPLOAD)
    if options.get("replace"):  # replacing removes the batch of the same content
        require(principal, Action.REMOVE_BATCH)
    parsed = upload_mapping(mapping, mapping_name, row_ids)
    return ingest_bytes(store, name, data, mapping=parsed, actor=principal.actor, **options)


def remove_batch(principal: Principal, store: Store, batch_id: int) -> int:
    """Remove a batch and its observations; returns how many observations went."""
    require(principal, Action.REMOVE_BATCH)
    return store.remove_batch(batch_id, actor=principal.actor)


def import_framework(principal: Principal, store: Store, path: Path | str) -> int:
    """Check and store a journey framework file; returns the active version afterwards."""
    require(principal, Action.IMPORT_FRAMEWORK)
    from cxdata.framework import import_framework as store_framework

    return store_framework(store, path, actor=principal.actor)


def fit_personas(
    principal: Principal,
    store: Store,
    settings: PersonaSettings | None = None,
    progress: Progress | None = None,
) -> PersonaModel:
    """Find personas and store them as a new model (everyone then sees it)."""
    require(principal, Action.FIT_PERSONAS)
    from cxdata.personas.discovery import discover  # scikit-learn loads on first use

    return discover(store, settings, progress=progress, actor=principal.actor)


def rename_persona(
    principal: Principal, store: Store, model_id: int, persona: int, name: str
) -> None:
    require(principal, Action.RENAME_PERSONA)
    from cxdata.personas.models import rename

    rename(store, model_id, persona, name, actor=principal.actor)


def export_csv(principal: Principal, data: pd.DataFrame) -> bytes:
    """A table as formula-safe CSV for download."""
    require(principal, Action.EXPORT)
    return safe_csv(data)


def export_svg(principal: Principal, chart: alt.TopLevelMixin) -> bytes:
    require(principal, Action.EXPORT)
    return chart_svg(chart)


def export_report(
    principal: Principal,
    engine: Engine,
    store: Store,
    fmt: str,
    filters: Filters,
    segment: str | None = None,
) -> bytes:
    """The executive report ('pdf' or 'html') over the page's filters and segment."""
    require(principal, Action.EXPORT)
    from cxdata.report import gather, report_bytes  # WeasyPrint loads on first use

    return report_bytes(gather(engine, store, filters, segment), fmt)


def export_png(principal: Principal, chart: alt.TopLevelMixin) -> bytes:
    require(principal, Action.EXPORT)
    return chart_png(chart)


def save_edited_framework(
    principal: Principal, store: Store, table: pd.DataFrame
) -> tuple[int, bool]:
    """Check the framework as edited in the grid and store it as a new version (unless it
    equals the active one): (active version, created). IngestError lists every problem."""
    require(principal, Action.IMPORT_FRAMEWORK)
    from cxdata.framework import save_framework
    from cxdata.framework.files import framework_from_table

    fw = framework_from_table(table, store.settings)
    return save_framework(store, fw, "edited in the app", actor=principal.actor)


def import_framework_upload(principal: Principal, store: Store, name: str, data: bytes) -> int:
    """Check and store an uploaded framework file (.toml or .csv); the active version after.
    Problems name the uploaded file, not the temporary copy it is read from."""
    require(principal, Action.IMPORT_FRAMEWORK)
    import tempfile

    from cxdata.framework import load_framework_file, save_framework

    shown = Path(name).name or "framework"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / shown
        path.write_bytes(data)
        fw = load_framework_file(path, store.settings, name=shown)
    return save_framework(store, fw, shown, actor=principal.actor)[0]


def export_framework(principal: Principal, store: Store, fmt: str) -> bytes:
    """The active framework as a file ('toml' or 'csv') that imports back unchanged."""
    require(principal, Action.EXPORT)
    from cxdata.framework import active_framework
    from cxdata.framework.files import framework_csv, framework_toml

    fw = active_framework(store)
    if fw is None:
        raise StoreError("There is no journey framework to export.")
    return (framework_toml(fw) if fmt == "toml" else framework_csv(fw)).encode("utf-8")


def start_with_own_data(principal: Principal, store: Store) -> RemovedSample:
    """Remove the sample batches and the sample framework in one audited step."""
    require(principal, Action.REMOVE_BATCH)
    require(principal, Action.IMPORT_FRAMEWORK)
    from cxdata.sample.remove import remove_sample

    return remove_sample(store, actor=principal.actor)
