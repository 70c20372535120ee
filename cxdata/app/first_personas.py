"""Personas from the first start: a store with observations and no persona model gets one,
fitted once with the default settings (automatic k, seed 0), so the executive's first
heatmap is stage x persona. Pure (no streamlit): the router shows the progress.

Two sessions (threads of one app) or two app processes starting at once must not fit
twice: the fit runs under a lock file beside the database (an OS lock that dies with its
process, like the store's turns) and a process-wide thread lock, and whoever gets the lock
second finds the first one's model and fits nothing. A store too small for personas is
remembered (per data fingerprint), so every later start does not try again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from cxdata.personas.models import fingerprint, latest_model_id
from cxdata.store import Store, StoreError

if TYPE_CHECKING:
    from cxdata.personas.estimator import Progress
    from cxdata.personas.models import PersonaModel

AUTO_ACTOR = "auto"
"""Who the audit trail names for a model the app fitted by itself."""
TOO_FEW_KEY = "personas_auto_too_few"
"""Meta key: the data fingerprint on which an automatic fit found too few customers."""

_in_process = threading.Lock()


def wants_personas(store: Store) -> bool:
    """True when the store has observations, no persona model, and was not already found
    too small for personas (with the same data)."""
    if latest_model_id(store) is not None or store.stats()["observations"] == 0:
        return False
    return store.get_meta(TOO_FEW_KEY) != fingerprint(store)


def fit_first_personas(store: Store, progress: Progress | None = None) -> PersonaModel | None:
    """Fit and store the first persona model (default settings, actor `auto`) unless one
    exists by the time the lock is ours; None when nothing was fitted (someone else did,
    too few customers, or the lock was not ours within the store's lock timeout)."""
    lock = FileLock(f"{store.path}.personas", thread_local=False)
    wait = store.settings.lock_timeout_s
    if not _in_process.acquire(timeout=wait):
        return None
    try:
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            return None
        try:
            if not wants_personas(store):
                return None
            from cxdata.personas.discovery import discover  # scikit-learn loads on first use
            from cxdata.personas.estimator import PersonaSettings

            try:
                return discover(store, PersonaSettings(), progress=progress, actor=AUTO_ACTOR)
            except StoreError as error:
                if "Too few customers" not in str(error):
                    raise
                store.set_meta(TOO_FEW_KEY, fingerprint(store))
                return None
        finally:
            lock.release()
    finally:
        _in_process.release()
