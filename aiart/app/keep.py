"""What a session keeps across page switches: chosen widget values and uploaded files.

Streamlit forgets a widget's value (and an uploader's files) as soon as a run does not draw it,
which is every switch to another page. `ui.page_header` calls `keep_widgets` at the start of every run,
while the last run's values are still there, and copies them aside; a page calls `remembered`
before drawing such a widget, which puts the copy back. Uploaders cannot be set that way, so their
files are copied (bounded) into session state by `keep_uploads`, their `on_change`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

# Widgets whose value a teacher expects to find again: folders, filters, the Classroom's source.
KEPT_WIDGETS = (
    "data-dir",
    "train-data-dir",
    "train-mode",
    "filter",
    "source",
    "sort",
    "samples",
    "classroom_source",
)
MAX_KEPT_FILES = 60
MAX_KEPT_BYTES = 150 * 2**20  # per uploader: the app holds what the browser would otherwise have to resend


def keep_widgets() -> None:
    """Copy the kept widgets' current values aside (plain session state outlives a page switch)."""
    for key in KEPT_WIDGETS:
        if key in st.session_state:
            keep_value(key)


def keep_value(key: str) -> None:
    """A kept widget's `on_change`: copy its new value aside at once, so a page switch that interrupts
    the next run before `keep_widgets` cannot lose it."""
    st.session_state[f"kept-widget-{key}"] = st.session_state[key]


def remembered(key: str, default: Any, on_change: Callable[[], None] | None = None) -> dict[str, Any]:
    """Before drawing a kept widget: its value from before a page switch, else `default`. Set in session
    state, never as the widget's own default (both at once makes Streamlit warn).

    Returns the widget's `key` and `on_change` (pass them with `**`): each change is copied aside at
    once (`keep_value`), then `on_change` runs, so no kept widget depends on a later run to be kept."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(f"kept-widget-{key}", default)

    def changed() -> None:
        keep_value(key)
        if on_change is not None:
            on_change()

    return {"key": key, "on_change": changed}


def kept_key(uploader: str) -> str:
    return f"kept-{uploader}"


def keep_uploads(uploader: str, then: Callable[[], None] | None = None) -> Callable[[], None]:
    """An uploader's `on_change`: copy its files as (name, bytes), at most MAX_KEPT_FILES / MAX_KEPT_BYTES."""

    def copy() -> None:
        files = st.session_state.get(uploader) or []
        kept, total, left_out = [], 0, 0
        for f in files if isinstance(files, list) else [files]:
            data = f.getvalue()
            if len(kept) >= MAX_KEPT_FILES or total + len(data) > MAX_KEPT_BYTES:
                left_out += 1
                continue
            kept.append((f.name, data))
            total += len(data)
        st.session_state[kept_key(uploader)] = (kept, left_out)
        if then:
            then()

    return copy


def kept_uploads(uploader: str) -> tuple[list[tuple[str, bytes]], int]:
    """The uploader's kept files (name, bytes) and how many were left out for size."""
    return st.session_state.get(kept_key(uploader), ([], 0))


def forget_uploads(uploader: str) -> None:
    st.session_state.pop(kept_key(uploader), None)


def kept_note(uploader: str, noun: str = "image") -> None:
    """Under an uploader: how many files the app keeps (the widget itself empties on a page switch)."""
    kept, left_out = kept_uploads(uploader)
    if left_out:
        st.warning(
            f"{left_out} file(s) left out: a session keeps at most {MAX_KEPT_FILES} files and "
            f"{MAX_KEPT_BYTES // 2**20} MB per uploader.",
            icon=":material/warning:",
        )
    if kept and not st.session_state.get(uploader):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f"{len(kept)} uploaded {noun}(s) kept from before.")
            st.button(
                "Clear", icon=":material/close:", key=f"clear-{uploader}", on_click=forget_uploads, args=(uploader,)
            )
