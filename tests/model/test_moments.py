"""A model may read each channel's share of active positions beside its mean and std: the statistic is
what it says, it has no gradient, and models, caches, files and heatmaps keep the two kinds apart."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from aiart.cam.contribution import compiled_shares
from aiart.data.features import FeatureStore
from aiart.model.classifier import (
    MOMENTS,
    ChannelStats,
    Classifier,
    HeadInfo,
    build_head,
    check_moments,
    feature_dim,
    feature_layout,
)
from aiart.model.storage import load_classifier, save_head
from aiart.training import finetune
from tests.conftest import SMALL_TAPS, random_head, synthetic_art

ACTIVE = ("mean", "std", "active")


@pytest.fixture(scope="module")
def active_clf() -> Classifier:
    head = random_head(feature_dim(SMALL_TAPS, ("plain", "highpass"), ACTIVE), 5, 1)
    info = HeadInfo(input_size=64, taps=SMALL_TAPS, keep_aspect=True, views=("plain", "highpass"), moments=ACTIVE)
    return Classifier(head, info, precision="float32")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_the_active_share_counts_the_positions_above_zero(dtype):
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(3, 9, 300, 5)), 0).astype(np.float32)  # rows longer than bfloat16 counts exactly
    x[0, :, :, 2] = 0  # a channel that never responds
    out = ChannelStats(ACTIVE)(tf.cast(x, dtype)).numpy()
    assert out.shape == (3, 15) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 10:], (x > 0).mean(axis=(1, 2)), atol=2e-3)
    assert out[0, 12] == 0
    np.testing.assert_allclose(out[:, :10], ChannelStats()(tf.cast(x, dtype)).numpy(), rtol=1e-6)  # mean, std as ever


def test_the_active_share_passes_no_gradient_and_the_layer_round_trips():
    x = tf.constant(np.maximum(np.random.default_rng(1).normal(size=(1, 6, 6, 4)), 0), tf.float32)
    layer = ChannelStats(ACTIVE)
    with tf.GradientTape() as tape:
        tape.watch(x)
        active = layer(x)[:, 8:]
    grads = tape.gradient(tf.reduce_sum(active), x)
    assert grads is None or not np.any(grads.numpy())
    assert ChannelStats.from_config(layer.get_config()).moments == ACTIVE


@pytest.mark.parametrize(
    "moments", [("std", "mean"), ("mean",), ("mean", "std", "max"), ("mean", "std", "active", "active")]
)
def test_statistics_must_be_mean_and_std_then_known_ones(moments):
    with pytest.raises(ValueError, match="statistics must be"):
        check_moments(moments)


def test_the_layout_names_every_column_as_the_graph_fills_it(active_clf):
    x = active_clf.to_batch([synthetic_art(3, True, (40, 63))])
    model = active_clf.model
    maps = keras.Model(model.inputs, [model.get_layer(t).output for t in SMALL_TAPS])([x])
    views = active_clf.info.views
    per_view = {t: np.asarray(m, np.float64).reshape(len(views), *m.shape[1:]) for t, m in zip(SMALL_TAPS, maps)}
    stat = {
        "mean": lambda a: a.mean(axis=(0, 1)),
        "std": lambda a: a.std(axis=(0, 1)),
        "active": lambda a: (a > 0).mean(axis=(0, 1)),
    }
    want = [
        stat[m](per_view[t][views.index(v)])
        for (v, t, m), _ in itertools.groupby(feature_layout(SMALL_TAPS, views, ACTIVE))
    ]
    np.testing.assert_allclose(active_clf.features_of_batch(x)[0], np.concatenate(want), rtol=1e-3, atol=1e-2)


def test_caches_versions_and_files_keep_the_statistics_apart(active_clf, tmp_path, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    plain_stats = Classifier(
        random_head(feature_dim(SMALL_TAPS, ("plain", "highpass")), 5, 1),
        HeadInfo(input_size=64, taps=SMALL_TAPS, keep_aspect=True, views=("plain", "highpass")),
        precision="float32",
    )
    assert plain_stats.info.moments == MOMENTS
    assert FeatureStore(active_clf).root != FeatureStore(plain_stats).root
    assert active_clf.version != plain_stats.version
    wide = synthetic_art(4, True, (40, 63))
    save_head(active_clf.head, active_clf.info, tmp_path / "active.keras")
    back = load_classifier(tmp_path / "active.keras", precision="float32")
    assert back.info.moments == ACTIVE and back.version == active_clf.version
    np.testing.assert_allclose(back.predict([wide]), active_clf.predict([wide]), rtol=1e-5)


def test_fine_tuning_refuses_a_model_with_more_statistics():
    info = HeadInfo(input_size=32, taps=SMALL_TAPS, moments=ACTIVE)
    clf = Classifier(build_head(feature_dim(SMALL_TAPS, moments=ACTIVE)), info, precision="float32")
    with pytest.raises(ValueError, match="mean and std only"):
        finetune.pool_extractor(clf)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_contribution_map_splits_the_active_share_exactly_too(sign):
    """A linear head on all three statistics: every position's shares add up to the logit's move from
    all-zero statistics, the active shares included."""
    taps = ("block1_conv1", "block1_conv2", "block2_conv1")
    dim = feature_dim(taps, moments=ACTIVE)
    head = build_head(dim)
    head.get_layer("standardize").adapt(np.random.default_rng(0).normal(size=(16, dim)) * 3)
    kernel = np.zeros((dim, 1), np.float32)
    kernel[2 * 64 : 3 * 64] = np.random.default_rng(1).normal(size=(64, 1))  # block1_conv1's active shares only
    kernel[: 2 * 64] = np.random.default_rng(2).normal(size=(128, 1)) * 0.1
    head.get_layer("logit").set_weights([kernel, np.array([0.3], np.float32)])
    clf = Classifier(head, HeadInfo(input_size=32, taps=taps, moments=ACTIVE), precision="float32")
    x = np.random.default_rng(3).normal(size=(2, 32, 32, 3)).astype(np.float32) * 50
    parts, _, logits, _ = compiled_shares(clf.model, "block1_conv2")(tf.constant(x), tf.constant(sign, tf.float32))
    at_zero = clf.logits_of_features(np.zeros((1, dim), np.float32))
    total = sum(p.numpy().sum(axis=(1, 2)) for p in parts)
    np.testing.assert_allclose(total, sign * (logits.numpy() - at_zero), rtol=1e-3)
