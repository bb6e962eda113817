"""Timing for the benches: medians of interleaved rounds, so a noisy machine hits every candidate alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timeit(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per function, timed round-robin after one warm-up each.

    Interleaving means a burst of load from elsewhere hits every candidate alike, so the ratios
    stay meaningful on a noisy shared machine.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
