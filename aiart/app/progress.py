"""Progress bars over many pictures or passes: the count and, for long work, the time left."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import streamlit as st

from aiart.data.features import TimeLeft


def progress_bar(what: str, unit: str = "") -> Callable[[int, int, float], None]:
    """A progress bar with the count and the time left (`Progress`), for work over many pictures or
    passes; it goes when the work is done."""
    slot, left = st.empty(), TimeLeft()

    def show(done: int, total: int, elapsed: float) -> None:
        eta = left(done, total, elapsed)
        text = f"{what}: {done}/{total}{unit}" + (f" · about {eta:.0f} s left" if eta else "")
        slot.progress(done / max(total, 1), text=text)
        if done >= total:
            slot.empty()

    return show


@contextlib.contextmanager
def counted(total: int, doing: str) -> Iterator[Callable[[int], None]]:
    """A progress bar over `total` images, for more than one (a single picture shows its spinner
    only): yields `update(done)`; the bar goes when the work is done."""
    bar = st.progress(0.0, text=f"{doing} {total} images...") if total > 1 else None

    def update(done: int) -> None:
        if bar:
            bar.progress(done / total, text=f"{doing}: {done}/{total} images")

    yield update
    if bar:
        bar.empty()
