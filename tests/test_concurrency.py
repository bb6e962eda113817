"""Many sessions at once: shared inference is thread-safe, and no session sees another's work.

A class of thirty opens the app together. Every session shares one model per process, so
`Classifier.predict` and `explain` must give, from 8 threads at once, exactly what they give one
call at a time; and 8 parallel app sessions (AppTest in threads, each with its own uploads, half
with a model of their own kept from the Train page) must finish without errors or cross-talk.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from PIL import Image

from aiart.app.ui import MAX_SIDE
from aiart.bench.sessions import Session, run_sessions, session_files, write_folder
from aiart.data.features import FeatureStore
from aiart.data.images import open_image, shrink
from aiart.explain import explain
from aiart.model.classifier import Classifier, build_head, feature_dim, to_batch
from tests.conftest import SMALL_TAPS, synthetic_art

THREADS = 8


def in_threads(fn, args: list) -> list:
    """fn(arg) for each arg, all started together behind a barrier; re-raises the first error."""
    results, errors = [None] * len(args), []
    barrier = threading.Barrier(len(args))

    def work(i):
        try:
            barrier.wait()
            results[i] = fn(args[i])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_predict_from_threads_matches_sequential(small_classifier):
    batches = [
        [synthetic_art(10 * t + i, bool((t + i) % 2), (40 + t, 48)) for i in range(1 + t % 3)] for t in range(THREADS)
    ]
    sequential = [small_classifier.predict(b) for b in batches]
    for _ in range(3):
        parallel = in_threads(small_classifier.predict, batches)
        for seq, par in zip(sequential, parallel):
            np.testing.assert_allclose(par, seq, rtol=0, atol=1e-5)


def test_explain_from_threads_matches_sequential(small_classifier):
    jobs = [
        (
            synthetic_art(t, t % 2 == 0, (36 + 4 * t, 40)),
            ("AI_GENERATED", "NON_AI_GENERATED")[t % 2],
            ("gradcam", "layercam", "gradcam++", "hirescam")[t % 4],
        )
        for t in range(THREADS)
    ]

    def run(job):
        img, target, method = job
        exp = explain(small_classifier, img, target=target, method=method)
        return exp.heatmap, exp.p_ai

    sequential = [run(job) for job in jobs]
    parallel = in_threads(run, jobs)
    for (heat_s, p_s), (heat_p, p_p) in zip(sequential, parallel):
        assert heat_p.shape == heat_s.shape
        np.testing.assert_allclose(heat_p, heat_s, atol=1e-4)
        assert p_p == pytest.approx(p_s, abs=1e-5)


def test_sessions_computing_the_same_folder_share_the_work(monkeypatch, small_classifier, tmp_path):
    """Eight sessions opening Browse on one cold folder: every image goes through the network once."""
    seen = []
    real = small_classifier.features_of_batch
    monkeypatch.setattr(small_classifier, "features_of_batch", lambda batch: seen.append(len(batch)) or real(batch))
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"{i}.png")
        synthetic_art(i, i % 2 == 0).save(paths[-1])
    paths.append(tmp_path / "broken.png")
    paths[-1].write_bytes(b"not an image")
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    orders = [list(range(41)) if t % 2 else list(range(40, -1, -1)) for t in range(THREADS)]
    results = in_threads(lambda order: store.compute([paths[i] for i in order], batch_size=8), orders)

    assert sum(seen) == 40, "each image computed once, by whichever session got to it first"
    for (feats, errors), order in zip(results, orders):
        assert [e is not None for e in errors] == [i == 40 for i in order]
        rows = [k for k, i in enumerate(order) if i != 40]
        fresh = real(to_batch([open_image(paths[order[k]]) for k in rows], 32))
        np.testing.assert_allclose(feats[rows], fresh, rtol=1e-5, atol=1e-4)  # float32 sums differ by batch


@pytest.fixture(scope="module")
def kept_classifier(small_classifier):
    """Another student's model: same features, a different head (so different verdicts)."""
    keras.utils.set_random_seed(11)
    head = build_head(feature_dim(SMALL_TAPS), hidden=8)
    head.get_layer("standardize").adapt(np.random.default_rng(5).normal(size=(16, feature_dim(SMALL_TAPS))))
    return Classifier(head, small_classifier.info)


def expected_p_ai(clf: Classifier, files) -> list[float]:
    """What the Classify page should show: uploads are shrunk to MAX_SIDE before classifying."""
    images = [shrink(open_image(data), MAX_SIDE) for _, data, _ in files]
    return list(clf.predict([Image.fromarray(np.asarray(img)) for img in images]))


def test_parallel_sessions_without_errors_or_cross_talk(monkeypatch, small_classifier, kept_classifier, tmp_path):
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    sessions = [Session(i, session_files(i), kept_classifier if i % 2 else None) for i in range(THREADS)]
    run_sessions(sessions, write_folder(tmp_path / "data"), timeout=300)

    assert [e for s in sessions for e in s.errors] == []
    for s in sessions:
        assert s.shown_files == [name for name, _, _ in s.files], "each session sees only its own uploads"
        good = [f for f in s.files if f[2] == "image/png" and not f[0].endswith("notes.png")]
        # on screen the AI score is a whole percent from 1 to 99: never 0% or 100%
        own = np.clip(expected_p_ai(kept_classifier if s.kept_model else small_classifier, good), 0.01, 0.99)
        other = np.clip(expected_p_ai(small_classifier if s.kept_model else kept_classifier, good), 0.01, 0.99)
        np.testing.assert_allclose(
            s.shown_p_ai, own, atol=0.006
        )  # whole percents on screen; its own model's verdicts...
        assert not np.allclose(s.shown_p_ai, other, atol=0.006)  # ...never the other model's


def test_one_model_per_process_even_when_everyone_arrives_at_once(monkeypatch, small_classifier):
    """The cache_resource loader: eight sessions opening the app together load the model once."""
    import time

    from aiart.app import ui

    loads = []

    def slow_load(path=None):
        loads.append(path)
        time.sleep(0.5)  # a wide window for a second session to start a second load
        return small_classifier

    monkeypatch.setattr("aiart.model.storage.load_classifier", slow_load)
    ui.default_classifier.clear()
    try:
        sessions = [Session(i, session_files(i, per_session=1)) for i in range(THREADS)]
        run_sessions(sessions, folder=None, timeout=300, warm_up=False)
        assert [e for s in sessions for e in s.errors] == []
        assert len(loads) == 1
        assert all(len(s.shown_p_ai) == 1 for s in sessions)
    finally:
        ui.default_classifier.clear()  # later tests must not get this stub
