"""A process killed while saving a model never leaves a broken model file behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from aiart.model.classifier import HeadInfo
from aiart.model.storage import load_head_checked

ROOT = Path(__file__).resolve().parents[2]

# Saves a ~17 MB head over and over (the full feature width, 512 hidden units), each time with its
# logit bias set to the save's number, and prints the number once `save_head` has returned.
SAVER = """
import sys
from pathlib import Path
import numpy as np
from aiart.model.classifier import HeadInfo, build_head, feature_dim
from aiart.model.storage import save_head

info = HeadInfo()
head = build_head(feature_dim(info.taps), hidden=512)
path, i = Path(sys.argv[1]), int(sys.argv[2])
while True:
    kernel, bias = head.get_layer("logit").get_weights()
    head.get_layer("logit").set_weights([kernel, np.full_like(bias, i)])
    save_head(head, info, path)
    print(i, flush=True)
    i += 1
"""


def mid_write(folder: Path) -> bool:
    """A save's temp file is there: a write has begun and not yet been moved into place."""
    return any(p.name.startswith(".model-") for p in folder.iterdir())


def wait_for_a_write(folder: Path, timeout: float = 30.0) -> None:
    """Returns as soon as a save's temp file appears (or after `timeout`), so the kill lands inside a write."""
    deadline = time.monotonic() + timeout
    while not mid_write(folder) and time.monotonic() < deadline:
        time.sleep(0.001)


def test_kill_during_save_keeps_last_good_model(tmp_path):
    """Three kills at random moments among the saves, then kills timed by the temp file's appearing
    until one has landed inside a write: random timing alone may miss every write on a busy machine."""
    path, info = tmp_path / "model.keras", HeadInfo()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    rng, start, kills, kills_mid_write = random.Random(0), 0, 0, 0
    while kills < 3 or (kills_mid_write == 0 and kills < 10):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        first = proc.stdout.readline()
        assert first.strip() == str(start), "the saver did not start"
        if kills < 3:
            time.sleep(rng.uniform(0.05, 0.6))  # a random moment among the next saves
        else:
            wait_for_a_write(tmp_path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        last = int((first + proc.stdout.read()).split()[-1])  # the last save that returned
        head = load_head_checked(path, info)  # must load: the last completed save, or the one just finished
        saved = round(float(head.get_layer("logit").get_weights()[1][0]))
        assert saved in (last, last + 1)
        assert HeadInfo.load(path.with_suffix(".json")).taps == info.taps  # the JSON is whole too
        kills += 1
        kills_mid_write += mid_write(tmp_path)
        start = last + 2
    weights = load_head_checked(path, info).get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)
    assert kills_mid_write >= 1  # at least one kill landed inside a write (its temp file was left behind)
