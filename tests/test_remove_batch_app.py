"""Removing a batch on the Upload page asks for confirmation every time: a click without the
tick says why nothing happened, and the tick clears after a removal."""

from __future__ import annotations

from cxdata.config import Settings
from cxdata.store import Store
from tests.conftest import shown, start_app


def _remove_button(at):
    return next(b for b in at.button if b.label == "Remove batch")


def test_removal_needs_a_fresh_tick_each_time(app_db):
    at = start_app("app_pages/upload.py", 180)
    batches = lambda: sorted(Store.open(Settings(), app_db).batches()["batch_id"])  # noqa: E731
    assert batches() == [1, 2, 3, 4]
    next(s for s in at.selectbox if s.label == "Remove a batch").set_value(4)
    _remove_button(at).click().run()  # no tick
    assert not at.exception, at.exception
    assert batches() == [1, 2, 3, 4]
    assert shown(at.warning[0].value).startswith("Nothing was removed: tick")
    at.checkbox(key="remove_batch_sure").check()
    next(s for s in at.selectbox if s.label == "Remove a batch").set_value(4)
    _remove_button(at).click().run()
    assert not at.exception, at.exception
    assert batches() == [1, 2, 3]
    assert not at.checkbox(key="remove_batch_sure").value  # the tick did not survive the removal
    assert not at.warning
    next(s for s in at.selectbox if s.label == "Remove a batch").set_value(3)
    _remove_button(at).click().run()  # the next click, without a new tick, removes nothing
    assert batches() == [1, 2, 3]
    assert shown(at.warning[0].value).startswith("Nothing was removed")
