"""Training helpers of the Train page and CLI: callbacks, background runs, uploads, comparison."""

from __future__ import annotations

import gc
import io
import itertools
import json
import threading
import time
import zipfile

import keras
import numpy as np
import pytest

from aiart import metrics
from aiart.data.dataset import scan
from aiart.data.features import FeatureStore, content_hash
from aiart.data.images import open_image
from aiart.data.uploads import extract
from aiart.metrics import sigmoid
from aiart.model.classifier import Classifier, HeadInfo, build_head, feature_dim
from aiart.model.storage import load_classifier, load_head_checked, save_head
from aiart.training import augment, recipe
from aiart.training.compare import compare, confusion_table, explain_disagreements, metric_rows
from aiart.training.fit import TrainConfig
from aiart.training.live import EpochLog, StopOnRequest, TrainingRun, train_session
from aiart.trust.softness import is_soft
from tests.conftest import SMALL_TAPS, png_bytes, synthetic_art, write_sourced_folder


@pytest.fixture
def sourced_folder(tmp_path):
    return write_sourced_folder(tmp_path / "sourced")


# -- callbacks on a tiny Keras model --------------------------------------------------------------
def tiny_problem():
    """Training labels opposite to validation labels: validation loss is best at the first epoch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.5), keras.losses.BinaryCrossentropy(from_logits=True))
    return model, x, y, x, 1 - y


class Recorder(keras.callbacks.Callback):
    """Weights and validation loss after each epoch; sets `flag` before batch `at` of epoch `epoch`."""

    def __init__(self, flag, epoch, at):
        super().__init__()
        self.flag, self.epoch, self.at = flag, epoch, at
        self.weights, self.val_loss, self.batches = [], [], []
        self.current = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.batches.append((self.current, batch))
        if (self.current, batch) == (self.epoch, self.at):
            self.flag.set()

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])
        self.val_loss.append(logs["val_loss"])


def test_stop_flag_ends_training_at_next_batch_and_keeps_best_weights():
    model, x, y, xv, yv = tiny_problem()
    flag = threading.Event()
    stop, rec, log = StopOnRequest(flag, "val_loss"), Recorder(flag, epoch=3, at=2), []
    model.fit(
        x, y, validation_data=(xv, yv), epochs=50, batch_size=8, verbose=0,
        callbacks=[rec, EpochLog(lambda e, logs: log.append((e, logs))), stop],
    )  # fmt: skip
    assert stop.stopped
    assert rec.batches[-1] == (3, 2)  # the batch during which Stop was pressed was the last one
    assert len(log) == 4 and [e for e, _ in log] == [0, 1, 2, 3]
    assert set(log[0][1]) >= {"loss", "val_loss"} and all(isinstance(v, float) for v in log[0][1].values())
    best = int(np.argmin(rec.val_loss))
    assert best < 3  # the best epoch is an earlier one, so "kept" is not just "last"
    for got, want in zip(model.get_weights(), rec.weights[best]):
        np.testing.assert_array_equal(got, want)


def test_stop_flag_unset_runs_all_epochs():
    model, x, y, xv, yv = tiny_problem()
    stop = StopOnRequest(threading.Event(), "val_loss")
    history = model.fit(x, y, validation_data=(xv, yv), epochs=3, batch_size=16, verbose=0, callbacks=[stop])
    assert not stop.stopped and len(history.history["loss"]) == 3


# -- a whole session in the background, as the page runs it ---------------------------------------
def test_training_run_session_and_comparison(small_classifier, sourced_folder, tmp_path):
    samples = scan(sourced_folder)
    data = recipe.split(samples, ["src0"])
    assert len(data.val) == 6 and len(data.train) == 12
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    run = TrainingRun(epochs=3)
    config = TrainConfig(hidden=8, epochs=3, batch_size=4)
    run.start(lambda r: train_session(r, small_classifier, data, config, store, reference=small_classifier))
    snap = run.wait(120)
    assert snap.phase == "done", snap.error
    assert [h["epoch"] for h in snap.history] == [1, 2, 3]
    assert {"loss", "log_loss", "accuracy", "val_log_loss", "val_accuracy"} <= set(snap.history[0])
    res = snap.result
    assert res.clf.input_size == 32 and res.result.info.training["n_train"] == 12
    # issue 21: the session's model knows its training pictures, as the shipped one does (Browse marks them)
    assert res.clf.trained_on == {content_hash(s.path.read_bytes()) for s in data.train}
    assert not res.clf.trained_on & {content_hash(s.path.read_bytes()) for s in data.val}
    cmp = res.comparison
    assert cmp.names == ("default", "new") and len(cmp.y) == 6
    assert len(res.disagreements) == min(4, len(cmp.disagree))
    for d in res.disagreements:
        assert {e.layer for e in d.explanations} == {"block3_conv3"}


def test_stop_before_training_cancels_and_during_training_keeps_model(small_classifier, sourced_folder, tmp_path):
    data = recipe.split(scan(sourced_folder), ["src0"])
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    run = TrainingRun()
    run.stop()
    assert run.start(lambda r: train_session(r, small_classifier, data, TrainConfig(), store)).wait(60).phase == (
        "cancelled"
    )

    live = TrainingRun(epochs=5000)
    config = TrainConfig(hidden=8, epochs=5000, patience=10**6, batch_size=4)
    live.start(lambda r: train_session(r, small_classifier, data, config, store))
    while len(live.snapshot().history) < 2:  # what the page's Stop button does, from another thread
        assert live.snapshot().running
        time.sleep(0.01)
    live.stop()
    snap = live.wait(120)
    assert snap.phase == "stopped" and 2 <= len(snap.history) < 100
    assert snap.result.result.info.training["epochs_run"] == len(snap.history)


def test_training_error_is_one_line(small_classifier, sourced_folder, tmp_path):
    samples = [s for s in scan(sourced_folder) if s.label == "AI_GENERATED"]
    data = recipe.Split(samples, [], [])
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    snap = TrainingRun().start(lambda r: train_session(r, small_classifier, data, TrainConfig(), store)).wait(60)
    assert snap.phase == "error" and "both classes" in snap.error and "\n" not in snap.error


# -- recipe additions -------------------------------------------------------------------------------
@pytest.mark.parametrize("transform", [augment.mirror, augment.degrade], ids=["mirrored", "degraded"])
def test_copies_are_cached_and_differ(small_classifier, sourced_folder, tmp_path, transform):
    samples = scan(sourced_folder)[:4]
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    plain, _, _, _ = recipe.features_for(store, samples)
    seen = []
    copies, y = augment.copies_features(store, samples, transform, lambda d, t, e: seen.append((d, t)))
    assert copies.shape == plain.shape and list(y) == [s.y for s in samples]
    assert not np.allclose(copies, plain)
    assert seen[-1] == (4, 4)
    entries = len(list(store.root.rglob("*.npy")))
    again, _ = augment.copies_features(store, samples, transform)  # the same copies: read back, not computed
    np.testing.assert_allclose(again, copies)
    assert len(list(store.root.rglob("*.npy"))) == entries == 8  # 4 plain + 4 copies, no new ones


def test_degraded_copies_are_the_robustness_probes_own_operations():
    img = synthetic_art(0, ai=False, size=(96, 96))
    kinds = set()
    for i in range(40):
        copy = augment.degrade(img, i)
        assert copy.mode == "RGB" and copy != img
        kinds.add(copy.size)
        assert copy.tobytes() == augment.degrade(img, i).tobytes()  # seeded by the index alone
    assert kinds == {(96, 96), (64, 64)}  # blur, shrink-and-back and JPEG keep the size; a screenshot is 2/3


@pytest.mark.parametrize("kind", ["mirrored", "degraded"])
def test_train_split_augment_doubles_training_set(small_classifier, sourced_folder, tmp_path, kind):
    data = recipe.split(scan(sourced_folder), ["src0"])
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    seen = []
    result = recipe.train_split(
        small_classifier, data, TrainConfig(hidden=4, epochs=2), store,
        progress=lambda d, t, e: seen.append((d, t)), augment=kind,
    )  # fmt: skip
    training = result.info.training
    assert training["n_train"] == 12 and training["augmented_copies"] == 12 and training["augmentation"] == kind
    assert seen[-1] == (30, 30)  # one count over train, validation and the copies' passes
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(seen))


def test_train_split_keeps_a_band_and_reports_cross_fitted_numbers(small_classifier, sourced_folder, tmp_path):
    data = recipe.split(scan(sourced_folder), ["src0", "src1"])  # two held-out sources, each with both classes
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    result = recipe.train_split(small_classifier, data, TrainConfig(hidden=4, epochs=3), store)
    scores, y = result.info.metrics, np.array([s.y for s in result.val_samples])
    assert scores["cross_fitted"] and result.info.unsure == scores["band"]["half_width"]
    clf = Classifier(result.head, result.info, share_backbone_with=small_classifier)
    np.testing.assert_allclose(clf.predict([s.path for s in result.val_samples]), result.val_p, atol=1e-4)
    assert scores["accuracy"] == pytest.approx(np.mean((result.val_p >= 0.5) == y))  # a scale never moves 0.5
    assert {clf.verdict(p) for p in result.val_p if abs(p - 0.5) < result.info.unsure} <= {"UNSURE"}
    assert scores["sharpness"]["n"] == len(data.train)  # its own soft-picture level, from its training pictures
    assert is_soft(clf, open_image(data.val[0].path)) in (True, False)


def test_random_parts_only_for_single_source_classes(labelled_folder, sourced_folder):
    flat, split_labels = recipe.random_parts(scan(labelled_folder))
    assert split_labels == ["AI_GENERATED", "NON_AI_GENERATED"]
    assert len({s.source for s in flat if s.label == "AI_GENERATED"}) > 1
    assert recipe.default_holdout(flat)
    sourced = scan(sourced_folder)
    same, none = recipe.random_parts(sourced)
    assert none == [] and same == sourced


# -- uploads ------------------------------------------------------------------------------------------
def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_uploads_are_safe_and_report_non_images(tmp_path, monkeypatch):
    img, human = png_bytes(synthetic_art(1, True)), png_bytes(synthetic_art(2, False))
    limit = max(len(img), len(human)) + 1024
    archive = zip_of(
        {
            "../../escape.png": img,
            "/abs/path.png": img,
            "deep/dir/ok.png": img,
            "notes.txt": b"hello",
            "inner.zip": zip_of({"x.png": img}),
            "__MACOSX/._junk.png": b"junk",
            "big.png": img + b"\0" * limit,
        }
    )
    monkeypatch.setattr("aiart.data.uploads.MAX_BYTES", limit)
    up = extract(
        {
            "AI_GENERATED": [("gen.zip", archive), ("broken.zip", b"PK\x03\x04 not really")],
            "NON_AI_GENERATED": [("a.png", human), ("doc.pdf", b"%PDF-1.4")],
        },
        root=tmp_path / "up",
    )
    written = sorted(p for p in (tmp_path / "up").rglob("*") if p.is_file())
    assert all(p.resolve().is_relative_to((tmp_path / "up").resolve()) for p in written)
    assert not (tmp_path / "escape.png").exists() and not list(tmp_path.parent.glob("escape.png"))
    assert len(up.samples) == 4 == len(written)
    assert sorted(s.label for s in up.samples) == ["AI_GENERATED"] * 3 + ["NON_AI_GENERATED"]
    assert {s.source for s in up.samples} == {"AI: gen.zip", "human: files"}
    problems = "\n".join(up.problems)
    for expected in ("notes.txt", "inner.zip: archives inside", "big.png: larger than", "broken.zip: not a valid"):
        assert expected in problems
    assert "doc.pdf: this is a PDF document" in problems
    assert "_junk" not in problems


def test_upload_limits_and_temp_folder_lifetime(monkeypatch):
    monkeypatch.setattr("aiart.data.uploads.MAX_FILES", 2)
    img = png_bytes(synthetic_art(1, True))
    up = extract({"AI_GENERATED": [(f"{i}.png", img) for i in range(3)]})
    root = up.root
    assert len(up.samples) == 2 and "over the upload limit" in up.problems[0]
    assert root.is_dir()
    del up
    gc.collect()
    assert not root.exists()


def test_zip_bomb_stops_at_byte_budget(monkeypatch):
    """Every decompressed byte counts, refused or not: a bomb of big zero-filled entries stops early."""
    monkeypatch.setattr("aiart.data.uploads.MAX_BYTES", 1000)
    monkeypatch.setattr("aiart.data.uploads.MAX_TOTAL_BYTES", 10_000)
    bomb = zip_of({f"{i}.png": b"\0" * 10**6 for i in range(200)})
    assert len(bomb) < 10**6  # compresses about 1000:1
    up = extract({"AI_GENERATED": [("bomb.zip", bomb)]})
    assert up.samples == []
    assert len(up.problems) <= 11 and "over the upload limit" in up.problems[-1]
    assert "bomb.zip/0.png: larger than" in up.problems[0]


# -- comparison ---------------------------------------------------------------------------------------
def test_compare_metrics_and_disagreements(small_classifier, sourced_folder, tmp_path):
    samples = scan(sourced_folder)
    store = FeatureStore(small_classifier, root=tmp_path / "cache")
    x, y, kept, _ = recipe.features_for(store, samples)
    keras.utils.set_random_seed(5)
    head = build_head(feature_dim(SMALL_TAPS), hidden=4)
    head.get_layer("standardize").adapt(x)
    other = Classifier(head, HeadInfo(input_size=32, taps=SMALL_TAPS))
    other.info.unsure = float(np.median(np.abs(sigmoid(other.logits_of_features(x)) - 0.5)))  # half get a verdict
    cmp = compare(small_classifier, other, x, y)
    for p, clf, summary in zip(cmp.p, (small_classifier, other), cmp.summaries):
        np.testing.assert_allclose(p, clf.predict([s.path for s in kept]), atol=1e-4)
        assert summary["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    labels = [(p >= 0.5) for p in cmp.p]
    assert set(cmp.disagree) == set(np.flatnonzero(labels[0] != labels[1]))
    gaps = np.abs(cmp.p[0] - cmp.p[1])[cmp.disagree]
    assert list(gaps) == sorted(gaps, reverse=True)
    rows = metric_rows(cmp)
    assert rows[0]["metric"] == "accuracy" and len(rows) == 5 + 6
    coverage, right = rows[3], rows[4]  # each model with its own "not sure" band
    for name, p, clf in zip(cmp.names, cmp.p, (small_classifier, other)):
        assert (coverage[name], right[name]) == metrics.when_sure(p, y, clf.info.unsure)
    assert coverage["default"] == 1.0 and 0.3 < coverage["new"] < 0.7
    table = confusion_table(cmp.summaries[0])
    assert sum(sum(r.values()) for r in table.values()) == len(y)
    assert len(cmp.disagree) > 0  # two random heads: the explanations below are exercised
    pairs = explain_disagreements(cmp, small_classifier, other, [s.path for s in kept], k=2)
    assert len(pairs) == min(2, len(cmp.disagree))
    for d in pairs:
        for p, exp in zip(cmp.p, d.explanations):
            assert exp.target == exp.label and exp.p_ai == pytest.approx(p[d.index], abs=1e-4)
            assert exp.heatmap.shape == exp.image.shape[:2]


def test_compare_refuses_different_features(small_classifier):
    other = Classifier(small_classifier.head, HeadInfo(input_size=48, taps=SMALL_TAPS))
    with pytest.raises(ValueError, match="different features"):
        compare(small_classifier, other, np.zeros((1, feature_dim(SMALL_TAPS))), np.zeros(1))


# -- CLI and bench ------------------------------------------------------------------------------------
@pytest.fixture
def small_head_file(small_classifier, tmp_path):
    path = tmp_path / "small.keras"
    save_head(small_classifier.head, small_classifier.info, path)
    return path


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_cli_train_end_to_end_and_resume(small_head_file, sourced_folder, tmp_path, capsys, strategy):
    from aiart.cli import main

    out = tmp_path / "model.keras"
    args = ["--model", str(small_head_file), "train", str(sourced_folder), "--per-class", "6", "--epochs", "2"]
    args += ["--hidden", "8", "--batch-size", "4", "--holdout", "src0", "--out", str(out), "--strategy", strategy]
    assert main(args) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["epochs"] == 2 and report["holdout_sources"] == ["src0"]
    assert "features [" in captured.err and "epochs   [" in captured.err and "2/2" in captured.err
    info = HeadInfo.load(out.with_suffix(".json"))
    assert info.input_size == 32 and info.training["n_train"] == 8
    first = load_head_checked(out, info)
    assert main([*args, "--resume"]) == 0
    resumed = load_head_checked(out, info)
    assert not all(np.array_equal(a, b) for a, b in zip(first.get_weights(), resumed.get_weights()))


def test_cli_train_fine_tunes_with_augmentation(small_head_file, sourced_folder, tmp_path, capsys):
    from aiart.cli import main

    out = tmp_path / "tuned.keras"
    args = ["--model", str(small_head_file), "train", str(sourced_folder), "--epochs", "2", "--hidden", "8"]
    args += ["--holdout", "src0", "--augment", "--finetune-epochs", "2", "--finetune-lr", "1e-3", "--out", str(out)]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["epochs"] >= 3  # the head's epochs, then fine-tuning's
    info = HeadInfo.load(out.with_suffix(".json"))
    assert info.training["finetuned"] == ["block3_conv1", "block3_conv2", "block3_conv3"]
    assert info.training["augmented_copies"] == info.training["n_train"] == 12
    assert info.training["augmentation"] == "mirrored"  # what a bare --augment adds
    assert load_classifier(out).tuned == ("block3_conv1", "block3_conv2", "block3_conv3")
    assert main([*args, "--resume"]) == 2  # a tuned file cannot be resumed as a head: one clear line
    assert "fine-tuned block" in capsys.readouterr().err


def test_cli_train_reports_bad_folder(tmp_path, capsys, small_head_file):
    from aiart.cli import main

    assert main(["--model", str(small_head_file), "train", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bench_train_runs_on_synthetic_data(small_classifier, capsys, monkeypatch):
    from aiart.bench import train as bench_train

    monkeypatch.setattr(bench_train, "default_data_dir", lambda: None)
    config = TrainConfig(hidden=8, epochs=3, patience=10**6)
    report = bench_train.bench_train(small_classifier, per_class=6, config=config, finetune_epochs=2)
    out = capsys.readouterr().out
    assert report["images"] == 12 and report["cold_s"] > 0 and report["cached_s"] > 0 and report["passes_alone_s"] > 0
    assert "its VGG16 passes alone" in out
    assert "synthetic images" in out and "goal (< 60 s)" in out and "goal (< 5 s)" in out
    assert "fine-tune block3, 2 epochs, cached" in out and report["finetune_cached_s"] > 0
