"""Training pieces: fitting and calibrating heads, the recipe's selection, split and shipped model."""

import numpy as np

from aiart.data.dataset import Sample
from aiart.training.fit import TrainConfig, fit_head, fold_calibration
from aiart.training.recipe import default_holdout, select, split


def test_fit_head_learns_and_calibration_folds_into_the_logit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    head, history = fit_head(
        x[:150], y[:150], x[150:], y[150:], TrainConfig(hidden=8, epochs=40, dropout=0.0, learning_rate=1e-2, l2=0.0)
    )
    assert history["val_accuracy"][-1] > 0.8 or max(history["val_accuracy"]) > 0.8
    before = head.predict(x, verbose=0)[:, 0]
    fold_calibration(head, 2.0, -0.5)
    np.testing.assert_allclose(head.predict(x, verbose=0)[:, 0], 2.0 * before - 0.5, rtol=1e-4, atol=1e-4)


def samples():
    out = []
    for src, label, n in (
        ("s1", "AI_GENERATED", 30),
        ("s2", "AI_GENERATED", 10),
        ("s3", "AI_GENERATED", 8),
        ("h1", "NON_AI_GENERATED", 40),
        ("h2", "NON_AI_GENERATED", 12),
        ("h3", "NON_AI_GENERATED", 5),
    ):
        out += [Sample(f"{src}/{i}.jpg", label, src) for i in range(n)]
    return out


def test_select_balances_classes_across_sources():
    chosen = select(samples(), per_class=12)
    assert sum(s.label == "AI_GENERATED" for s in chosen) == 12
    assert sum(s.label == "NON_AI_GENERATED" for s in chosen) == 12
    assert {s.source for s in chosen} == {"s1", "s2", "s3", "h1", "h2", "h3"}


def test_default_split_holds_out_whole_sources_of_both_classes():
    data = split(samples())
    held = set(data.holdout)
    assert held and {s.source for s in data.val} == held
    assert not held & {s.source for s in data.train}
    assert {s.label for s in data.val} == {"AI_GENERATED", "NON_AI_GENERATED"}
    assert {s.label for s in data.train} == {"AI_GENERATED", "NON_AI_GENERATED"}
    assert default_holdout(samples()) == default_holdout(samples())


def test_constant_training_channel_does_not_blow_up_validation():
    from aiart.model.classifier import build_head
    from aiart.training.fit import adapt_standardize

    x = np.random.default_rng(0).normal(10, 3, size=(12, 5)).astype(np.float32)
    x[:, 2] = 0.0  # a dead channel on the training set
    head = build_head(5)
    adapt_standardize(head, x)
    probe = np.array([[10, 10, 5.0, 10, 10]], np.float32)
    standardized = head.get_layer("standardize")(probe).numpy()
    assert np.abs(standardized).max() < 1e3


def test_train_default_reports_the_yardstick_calibrates_and_lists_its_images(small_classifier, tmp_path):
    from aiart.data.dataset import scan
    from aiart.data.features import content_hash
    from aiart.training import recipe
    from tests.conftest import write_sourced_folder

    samples = scan(write_sourced_folder(tmp_path / "data"))
    head, info, trained = recipe.train_default(small_classifier, samples, folds=3, seeds=(0, 1))
    assert info.training["n"] == 18 and info.training["sources"] == len({s.source for s in samples})
    yard = info.metrics["yardstick"]
    assert yard["seeds"] == [0, 1] and {"accuracy", "balanced_accuracy", "auc", "ece"} <= set(yard["summary"])
    assert all(len(v) == 2 and np.isfinite(v[0]) for v in yard["summary"].values())
    assert set(yard["tables"]["source"]) == {s.source for s in samples}
    assert {"family", "kind"} <= set(yard["tables"])
    band = info.metrics["unsure"]
    assert info.unsure == band["half_width"] and 0 <= band["coverage"] <= 1
    cv = info.metrics["cross_source"]
    assert {"accuracy", "ece", "coverage", "accuracy_when_sure"} <= set(cv)
    assert sorted(trained) == sorted(content_hash(s.path.read_bytes()) for s in samples)
    cal = info.training["calibration"]
    assert cal["a"] > 0 and cal["b"] == 0 and head.output_shape == (None, 1)
    sharp = info.metrics["sharpness"]  # the soft-picture warning's level, from these very pictures
    assert sharp["n"] == 18 and 0 < sharp["soft_below"] <= sharp["median"] and sharp["quantile"] == 0.05


def test_train_default_with_degraded_copies_trains_on_both_and_scores_pictures_as_stored(
    small_classifier, tmp_path, monkeypatch
):
    from aiart.data.dataset import scan
    from aiart.data.features import FeatureStore
    from aiart.training import recipe
    from tests.conftest import write_sourced_folder

    monkeypatch.setenv("AIART_CACHE", str(tmp_path / "cache"))  # other tests' copies of alike pictures stay out
    samples = scan(write_sourced_folder(tmp_path / "data"))
    _, plain, _ = recipe.train_default(small_classifier, samples, folds=3, seeds=(0,))
    cached = len(list(FeatureStore(small_classifier).root.rglob("*.npy")))
    seen = []
    head, info, trained = recipe.train_default(
        small_classifier, samples, folds=3, seeds=(0,), progress=lambda d, t, e: seen.append((d, t)), degraded=True
    )
    assert info.training["degraded_copies"] == 18 and plain.training["degraded_copies"] == 0
    assert info.training["n"] == 18 and len(trained) == 18  # the copies are not pictures of the pool
    assert len(list(FeatureStore(small_classifier).root.rglob("*.npy"))) == cached + 18
    assert seen[-1] == (36, 36)  # one count over the pictures, then their copies
    assert info.metrics["yardstick"]["summary"] != plain.metrics["yardstick"]["summary"]
    assert head.output_shape == (None, 1) and info.training["calibration"]["a"] > 0


def test_saved_trained_head_holds_weights_only(tmp_path):
    """A compiled, trained head is saved without its Adam slots (which would triple the file)."""
    import zipfile

    import h5py

    from aiart.model.classifier import HeadInfo
    from aiart.model.storage import load_head_checked, save_head

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 128)).astype("float32"), np.arange(40) % 2
    head, _ = fit_head(x, y, None, None, TrainConfig(hidden=8, epochs=2))
    info = HeadInfo(taps=("block1_conv1",))  # 128 features
    path = tmp_path / "head.keras"
    save_head(head, info, path)
    with zipfile.ZipFile(path) as z:
        z.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as weights:
        assert "optimizer" not in weights
    loaded = load_head_checked(path, info)
    for got, want in zip(loaded.get_weights(), head.get_weights()):
        np.testing.assert_array_equal(got, want)
