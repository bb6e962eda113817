"""Training pieces: source-held-out folds, Platt scaling, the recipe's selection and split."""

import numpy as np

from aiart.data.dataset import Sample
from aiart.training.fit import TrainConfig, fit_head, fold_calibration, group_folds, platt
from aiart.training.recipe import default_holdout, select, split


def test_group_folds_hold_out_whole_groups():
    groups = ["a"] * 10 + ["b"] * 5 + ["c"] * 5 + ["d"] * 3 + ["e"] * 2
    folds = group_folds(groups, k=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    for f in folds:
        inside = {groups[i] for i in f}
        outside = {g for j, g in enumerate(groups) if j not in set(f)}
        assert not inside & outside


def test_platt_recovers_a_known_scaling():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(int)
    a, b = platt(z, y)
    assert abs(a - 0.5) < 0.08 and abs(b + 1.0) < 0.15


def test_platt_survives_separable_logits():
    z = np.array([-50.0, -40, 40, 50])
    a, b = platt(z, np.array([0, 0, 1, 1]))
    assert np.isfinite(a) and np.isfinite(b) and a > 0


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


def test_train_default_cross_validates_with_fixed_epochs_and_calibrates(small_classifier, tmp_path):
    from aiart.data.dataset import scan
    from aiart.training import recipe
    from tests.conftest import write_sourced_folder

    samples = scan(write_sourced_folder(tmp_path / "data"))
    head, info = recipe.train_default(small_classifier, samples, TrainConfig(hidden=8, epochs=4, batch_size=4), folds=3)
    assert (
        info.training["config"]["epochs"] == 4
        and info.training["n"] == 18
        and info.training["sources"] == len({s.source for s in samples})
    )
    folds = info.training["folds"]
    assert len(folds) == 3 and sorted(s for f in folds for s in f["sources"]) == sorted({s.source for s in samples})
    cv = info.metrics["cross_source"]
    assert {"accuracy", "ece", "raw_accuracy", "balanced_accuracy"} <= set(cv) and 0 <= cv["ece"] <= 1
    assert set(info.metrics["per_source"]) == {s.source for s in samples}
    a, b = info.training["platt"]
    assert np.isfinite(a) and np.isfinite(b) and head.output_shape == (None, 1)


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
