"""`keep.remembered`: the value comes back after a page switch, and each change is kept at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aiart.app import keep


@pytest.fixture
def state(monkeypatch) -> dict:
    """A plain dict as the session state: these functions only read and write keys."""
    session: dict = {}
    monkeypatch.setattr(keep, "st", SimpleNamespace(session_state=session))
    return session


def test_first_visit_gets_the_default(state):
    assert keep.remembered("filter", "all")["key"] == "filter"
    assert state["filter"] == "all"


def test_the_kept_value_comes_back_after_a_page_switch(state):
    state["kept-widget-filter"] = "mistakes"
    keep.remembered("filter", "all")
    assert state["filter"] == "mistakes"


def test_a_drawn_widget_keeps_its_own_value(state):
    state.update({"filter": "unsure", "kept-widget-filter": "mistakes"})
    keep.remembered("filter", "all")
    assert state["filter"] == "unsure"


def test_a_change_is_kept_at_once_then_the_pages_own_callback_runs(state):
    calls = []
    kwargs = keep.remembered("source", None, on_change=lambda: calls.append(state["kept-widget-source"]))
    state["source"] = "museum"  # what Streamlit does before calling on_change
    kwargs["on_change"]()
    assert state["kept-widget-source"] == "museum" and calls == ["museum"]
