"""The contribution map splits the score exactly: its shares add up to the logit, over every pooled
layer, view and position, for a GAP head (classic CAM) and for aiart's mean-and-std head."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from aiart.cam.contribution import BLUR, ContributionCAM, compiled_shares, on_grid
from aiart.model.classifier import Classifier, HeadInfo, build_head, feature_dim

TAPS = ("block1_conv1", "block1_conv2", "block2_conv1")


def linear_classifier(views: tuple[str, ...]) -> Classifier:
    """A 32 px classifier whose head is standardize -> Dense(1), seeded: its logit is linear in the statistics."""
    dim = feature_dim(TAPS, views)
    head = build_head(dim)
    head.get_layer("standardize").adapt(np.random.default_rng(0).normal(size=(16, dim)) * 3)
    kernel = np.random.default_rng(1).normal(size=(dim, 1)).astype(np.float32)
    head.get_layer("logit").set_weights([kernel, np.array([0.3], np.float32)])
    return Classifier(head, HeadInfo(input_size=32, taps=TAPS, views=views), precision="float32")


def total_share(model, x, sign, layer) -> np.ndarray:
    parts, _, _, _ = compiled_shares(model, layer)(tf.constant(x), tf.constant(sign, tf.float32))
    return sum(p.numpy().sum(axis=(1, 2)) for p in parts)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_gap_head_shares_are_cam_and_add_up_to_the_logit(tiny_model, tiny_input, sign):
    parts, grids, logits, _ = compiled_shares(tiny_model, "conv_a")(tf.constant(tiny_input), tf.constant(sign))
    bias = tiny_model.get_layer("logit").get_weights()[1][0]
    np.testing.assert_allclose(parts[0].numpy().sum(), sign * (logits.numpy()[0] - bias), rtol=1e-4)
    acts = keras.Model(tiny_model.inputs[0], tiny_model.get_layer("conv_b").output)(tiny_input).numpy()
    kernel = tiny_model.get_layer("logit").get_weights()[0][:, 0]
    np.testing.assert_allclose(parts[0].numpy(), sign * acts @ kernel / 256, rtol=1e-4, atol=1e-6)  # Zhou et al.'s CAM
    assert tuple(grids[0].numpy()) == (16, 16)  # conv_a's grid


@pytest.mark.parametrize("views", [("plain",), ("plain", "highpass")])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_mean_and_std_head_shares_add_up_to_the_logit(views, sign):
    clf = linear_classifier(views)
    x = np.random.default_rng(2).normal(size=(2, 32, 32, 3)).astype(np.float32) * 50
    logits = clf.logits_of_batch(x)
    at_zero = clf.logits_of_features(np.zeros((1, feature_dim(TAPS, views)), np.float32))
    total = total_share(clf.model, x, sign, "block1_conv2").reshape(len(views), 2).sum(axis=0)  # views summed
    np.testing.assert_allclose(total, sign * (logits - at_zero), rtol=1e-3)


def test_shares_move_onto_any_grid_with_their_totals_kept():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(2, 32, 24)), rng.normal(size=(2, 8, 6)), rng.normal(size=(2, 4, 3))]
    for grid in [(16, 12), (8, 6), (4, 3)]:
        cells = on_grid(parts, grid)
        assert cells.shape == (2, *grid)
        np.testing.assert_allclose(cells.sum(axis=(1, 2)), sum(p.sum(axis=(1, 2)) for p in parts), rtol=1e-4)


def test_the_map_follows_where_the_evidence_is():
    """A head that reads only block1_conv1's mean of channel 0 (a red-ish filter's response): the map's
    hottest cells are where that channel fires."""
    clf = linear_classifier(("plain",))
    x = np.zeros((1, 32, 32, 3), np.float32)
    x[0, 4:12, 20:28] = [-80.0, -80.0, 120.0]  # a bright patch (VGG's BGR order) in the upper right
    acts = keras.Model(clf.model.inputs[0], clf.model.get_layer("block1_conv1").output)(x).numpy()[0]
    channel = int(np.argmax(acts[4:12, 20:28].mean(axis=(0, 1)) - acts[20:, :12].mean(axis=(0, 1))))
    kernel = np.zeros((feature_dim(TAPS), 1), np.float32)
    kernel[channel] = 1.0
    clf.head.get_layer("logit").set_weights([kernel, np.zeros(1, np.float32)])
    maps, _ = ContributionCAM(clf.model, "block1_conv1")(x, 1.0)
    assert maps[0, 4:12, 20:28].mean() > 5 * maps[0, 20:, :12].mean()


def test_the_map_is_blurred_over_neighbouring_cells_keeping_its_total():
    """One hot cell spreads as a Gaussian of sigma = the grid's longer side / BLUR (3 cells here)."""
    cells = np.zeros((1, 56, 84), np.float32)
    cells[0, 28, 42] = 1.0
    cam = ContributionCAM(linear_classifier(("plain",)).model, "block1_conv1")
    out = cam.cam_image(cells, None, np.zeros((1, 56, 84, 3)), 1.0)
    assert 84 / BLUR == 3 and out.shape == cells.shape
    assert out.sum() == pytest.approx(1.0, rel=1e-4) and out[0, 28, 42] == out.max()
    assert out[0, 28, 45] / out[0, 28, 42] == pytest.approx(np.exp(-0.5), rel=0.05)  # one sigma away


def test_a_model_without_pooled_statistics_is_refused():
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="conv")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    with pytest.raises(ValueError, match="channel statistics"):
        ContributionCAM(model, "conv")(np.zeros((1, 8, 8, 3), np.float32))
