"""How many VGG16 pixels may be in flight at once in this process, and glibc's handling of freed memory.

A server shares one model between sessions. Each pass holds activations in proportion to its pixels
(a batch of four 448x336 images briefly holds about 0.5 GB), and on two cores concurrent passes only
split the same CPU, so letting eight sessions' passes run at once buys no speed but stacks their
activations: `bench --sessions 8` peaked at 1.6-1.7 GB that way. A pixel budget lets small passes
overlap and makes big ones take turns; a pass larger than the whole budget still runs, alone.
Measured with 8 sessions: a budget of two 448x448 images peaked at 1.23-1.25 GB, three at 1.41-1.58,
with the same wall time (40-43 s) as no budget at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import threading
from collections.abc import Iterator

DEFAULT_BUDGET = 2 * 448 * 448  # two square images at the shipped input size; AIART_PIXEL_BUDGET overrides
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed


class PixelBudget:
    """A counting gate in pixels: `with budget.hold(n):` waits until `n` more pixels fit (or none are held).

    Passes are let in first come, first served, so a big pass (Score-CAM's masked copies, a Browse
    batch) is not starved by a stream of small ones that keep the gate from ever emptying.
    """

    def __init__(self, pixels: int):
        if pixels <= 0:
            raise ValueError(f"the pixel budget must be positive, got {pixels}")
        self.pixels = pixels
        self.in_flight = 0
        self._changed = threading.Condition()
        self._tickets = itertools.count()
        self._serving = 0  # the ticket whose turn it is to enter

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        with self._changed:
            ticket = next(self._tickets)
            self._changed.wait_for(
                lambda: ticket == self._serving and (self.in_flight == 0 or self.in_flight + pixels <= self.pixels)
            )
            self._serving += 1
            self.in_flight += pixels
            self._changed.notify_all()  # the next in line may fit too
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= pixels
                self._changed.notify_all()


PASSES = PixelBudget(int(os.environ.get("AIART_PIXEL_BUDGET", DEFAULT_BUDGET)))


def return_freed_memory() -> bool:
    """Make glibc give large freed blocks back to the system at once; False where that is not glibc.

    glibc raises its mmap threshold each time a large block is freed, after which activation-sized
    buffers come from the heap and stay resident when freed. Fixing the threshold (as setting it by
    hand does) kept 0.3 GB less resident after `bench --sessions 8` (1.06 GB after, against 1.40).
    """
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
