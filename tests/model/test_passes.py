"""The process-wide pixel budget: small passes overlap, big ones take turns, nothing is lost on errors."""

from __future__ import annotations

import platform
import threading
import time

import numpy as np
import pytest
from PIL import Image

from aiart.cam.base import pixels
from aiart.model import passes
from aiart.model.passes import PixelBudget


def overlap(budget: PixelBudget, sizes: list[int]) -> int:
    """Run one thread per size, each holding its pixels for a moment; the most held at once."""
    most, lock = [0], threading.Lock()

    def work(n: int) -> None:
        with budget.hold(n):
            with lock:
                most[0] = max(most[0], budget.in_flight)
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(n,)) for n in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a pass never got its turn"
    return most[0]


def test_small_passes_run_together():
    assert overlap(PixelBudget(100), [25] * 4) == 100


def test_big_passes_take_turns():
    assert overlap(PixelBudget(100), [60] * 4) == 60


def test_a_pass_bigger_than_the_budget_still_runs_alone():
    assert overlap(PixelBudget(100), [250, 10, 10]) <= 250
    assert overlap(PixelBudget(100), [250]) == 250


def test_an_error_inside_gives_the_pixels_back():
    budget = PixelBudget(100)
    with pytest.raises(RuntimeError), budget.hold(80):
        raise RuntimeError("the pass failed")
    assert budget.in_flight == 0
    assert overlap(budget, [80, 80]) == 80


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        PixelBudget(0)


def test_passes_enter_first_come_first_served():
    """A big pass waiting for room is not overtaken by a small one that would fit now."""
    budget, entered = PixelBudget(100), []
    first_in, release = threading.Event(), threading.Event()

    def first() -> None:
        with budget.hold(60):
            first_in.set()
            release.wait(10)

    def later(name: str, n: int) -> None:
        with budget.hold(n):
            entered.append(name)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    first_in.wait(10)
    for name, n in (("big", 80), ("small", 30)):
        threads.append(threading.Thread(target=later, args=(name, n)))
        threads[-1].start()
        time.sleep(0.1)  # the big one queues first
    assert entered == []  # the small one fits beside the first pass, but the big one is ahead of it
    release.set()
    for t in threads:
        t.join(10)
    assert entered == ["big", "small"] and budget.in_flight == 0


def test_pixels_counts_images_times_area():
    assert pixels(np.zeros((4, 336, 448, 3), np.uint8)) == 4 * 336 * 448


def test_classifier_and_explain_passes_go_through_the_budget(monkeypatch, small_classifier):
    """Every VGG16 pass the app makes asks the shared budget first, with its own size."""
    from aiart.explain import explain

    asked: list[int] = []
    real = passes.PASSES.hold

    def spy(pixels: int):
        asked.append(pixels)
        return real(pixels)

    monkeypatch.setattr(passes.PASSES, "hold", spy)
    side = small_classifier.input_size
    small_classifier.logits_of_batch(np.zeros((2, side, side, 3), np.float32))
    small_classifier.features_of_batch(np.zeros((3, side, side, 3), np.float32))
    explain(small_classifier, Image.new("RGB", (50, 40)), method="scorecam")
    # Score-CAM: the activations' pass, then its 32 masked copies (they fit in one pass at this size)
    assert asked == [2 * side * side, 3 * side * side, side * side, 32 * side * side]


def test_freed_memory_setting_applies_on_glibc():
    assert passes.return_freed_memory() is (platform.libc_ver()[0] == "glibc")
