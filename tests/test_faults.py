"""SIGKILL at random moments never leaves a file that later loads wrong.

Writers forked from `python -m tests.test_faults JOBS` cache features or save heads in a loop and
are killed at random points: 20 kills in all, four writers at a time. The feature writers share
one small cache, so several processes evict and rewrite entries until they die. Afterwards every
cache entry must equal a fresh computation (or be ignored and recomputed), temp files of killed
writers must never count as entries, and every saved head must load with its own settings or be
refused.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
import tempfile
import time
import traceback
from itertools import count
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SMALL_TAPS, run_python, synthetic_art

KILLS_PER_KIND = 10
IMAGES_PER_ROUND = 4
ROUNDS = 60
ENTRY_BYTES = 4 * 896 + 128  # one small-classifier feature vector as .npy


def round_images(r: int) -> list:
    return [synthetic_art(r * IMAGES_PER_ROUND + i, bool(i % 2), (40, 40)) for i in range(IMAGES_PER_ROUND)]


def head_weights(head, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in head.get_weights()]


def make_head(seed: int):
    from aiart.model.classifier import HeadInfo, build_head, feature_dim

    head = build_head(feature_dim(SMALL_TAPS), hidden=4)
    head.set_weights(head_weights(head, seed))
    return head, HeadInfo(input_size=32, taps=SMALL_TAPS, threshold=0.5, training={"seed": seed})


def small_classifier_here():
    from aiart.model.classifier import Classifier

    return Classifier(*make_head(0))


def writer(kind: str, target: Path, ready: int) -> None:
    """Loop forever writing; signals `ready` once set up, then gets killed at a random moment."""
    from aiart.data.features import FeatureStore
    from aiart.model.storage import save_head

    if kind == "feature":
        # a cap of ~50 entries keeps every writer evicting and rewriting until it is killed
        clf = small_classifier_here()
        store = FeatureStore(clf, root=target, cap_bytes=50 * ENTRY_BYTES)
        # trace the forward pass before `ready`: on a loaded machine tracing alone outlasted the random
        # delay, so writers died before their first entry (and head writers before their first save)
        clf.features_of_batch(np.zeros((1, 32, 32, 3), np.float32))
        os.write(ready, b"R")
        for r in count(random.randrange(ROUNDS)):  # writers start apart, then overlap
            store.compute(round_images(r % ROUNDS))
    else:
        with tempfile.TemporaryDirectory() as warm:  # the first save imports and builds more: also before `ready`
            save_head(*make_head(0), Path(warm) / "head.keras")
        os.write(ready, b"R")
        for seed in count(1):
            save_head(*make_head(seed), target)


def spawn(kind: str, target: Path) -> tuple[int, int]:
    """Fork a writer from this already-imported process: no 5 s TensorFlow import per kill."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        random.seed(os.getpid())
        try:
            writer(kind, target, write)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(3)  # only reached when the writer failed
    os.close(write)
    return pid, read


def kill_at_random(jobs: list[tuple[str, str, float]], parallel: int = 4) -> list[int]:
    """Run the writers, `parallel` at a time, SIGKILL each `delay` s after it is ready; wait statuses.

    Single-threaded on purpose: forking a process that runs threads can deadlock the child.
    """
    pending, running, statuses = list(jobs), {}, []
    while pending or running:
        while pending and len(running) < parallel:
            kind, target, delay = pending.pop()
            pid, fd = spawn(kind, Path(target))
            running[pid] = {"fd": fd, "delay": delay, "deadline": None}
        waiting = [r["fd"] for r in running.values() if r["deadline"] is None]
        readable = select.select(waiting, [], [], 0.005)[0] if waiting else []
        now = time.monotonic()
        for r in running.values():
            if r["fd"] in readable:
                os.read(r["fd"], 1)  # b"" when the writer died while setting up: reaped below
                r["deadline"] = now + r["delay"]
        for pid in [p for p, r in running.items() if r["deadline"] is not None and now >= r["deadline"]]:
            os.kill(pid, signal.SIGKILL)
            statuses.append(os.waitpid(pid, 0)[1])
            os.close(running.pop(pid)["fd"])
        if not readable:
            time.sleep(0.005)
    return statuses


def test_sigkill_during_feature_caching_and_head_saving(tmp_path):
    from aiart.data.features import FeatureStore, keyed
    from aiart.model.classifier import to_batch
    from aiart.model.storage import ModelFileError, load_classifier

    rng = random.Random(7)
    cache = tmp_path / "cache"
    heads = [tmp_path / f"kept{i}" / "head.keras" for i in range(KILLS_PER_KIND)]
    jobs = [("feature", str(cache), rng.uniform(0.05, 1.5)) for _ in range(KILLS_PER_KIND)]
    jobs += [("head", str(path), rng.uniform(0.05, 1.5)) for path in heads]
    rng.shuffle(jobs)
    proc = run_python(["-m", "tests.test_faults", json.dumps(jobs)])
    assert proc.returncode == 0, proc.stderr
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(statuses) == 2 * KILLS_PER_KIND
    assert all(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL for st in statuses), proc.stderr

    # every feature entry left on disk equals a fresh computation; temp files are never entries
    clf = small_classifier_here()
    images = [img for r in range(ROUNDS) for img in round_images(r)]
    fresh = {keyed(img)[0]: vec for img, vec in zip(images, clf.features_of_batch(to_batch(images, 32)))}
    store = FeatureStore(clf, root=cache)
    entries = [path for _, _, path in store.entries()]
    assert entries, "the writers cached something before being killed"
    assert all(p.suffix == ".npy" and p.stem in fresh for p in entries), "only finished entries are entries"
    for path in entries:
        vec = store.get(path.stem)
        assert vec is not None, f"{path.name} was left half-written"
        np.testing.assert_allclose(vec, fresh[path.stem], rtol=1e-4, atol=1e-4)
    feats, errors = store.compute(images)
    assert errors == [None] * len(images)
    np.testing.assert_allclose(feats, np.stack(list(fresh.values())), rtol=1e-4, atol=1e-4)

    # every saved head loads with its own settings, or is refused with a one-line message
    loaded = refused = 0
    for path in heads:
        if not path.exists():
            continue  # killed before its first save finished: nothing to load, nothing wrong
        try:
            kept = load_classifier(path)
        except ModelFileError as exc:
            assert "\n" not in str(exc)
            refused += 1
            continue
        seed = kept.info.training["seed"]
        for got, want in zip(kept.head.get_weights(), head_weights(kept.head, seed)):
            np.testing.assert_array_equal(got, want)
        loaded += 1
    assert loaded >= 1, f"no head survived ({refused} refused)"


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -8])
def test_truncated_cache_entry_is_recomputed(tmp_path, small_classifier, cut):
    from aiart.data.features import FeatureStore, keyed

    store = FeatureStore(small_classifier, root=tmp_path)
    img = synthetic_art(11, True)
    want, _ = store.compute([img])
    path = store.path(keyed(img)[0])
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    assert store.get(keyed(img)[0]) is None, "a truncated entry is never trusted"
    got, errors = store.compute([img])
    assert errors == [None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert path.read_bytes() == data, "the entry is rewritten whole"


if __name__ == "__main__":
    from aiart.data import features  # noqa: F401
    from aiart.model import storage  # noqa: F401  (imported once, before forking)

    print(json.dumps(kill_at_random([tuple(job) for job in json.loads(sys.argv[1])])))
