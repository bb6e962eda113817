"""Contribution map: the score split exactly over positions, for a head on pooled channel statistics.

CAM (Zhou et al., 2016, arXiv 1512.04150) is exact for one global-average-pooled layer and a linear
head: the logit is the sum over positions of w . a(x) / N. aiart's head reads the channel means *and
standard deviations* of all thirteen conv layers, of both views, and the same holds for each of them,
since a standard deviation is also a sum over positions: sigma = sum_x a(x) (a(x) - mu) / (N sigma).
So, with g the gradient of the target score with respect to a layer's pooled statistics,

    share(x) = sum_c [ g_mean_c a_c(x) + g_std_c a_c(x) (a_c(x) - mu_c) / sigma_c ] / N

A model that also reads each channel's share of active positions (a mean of 1[a(x) > 0]) adds
g_active_c 1[a_c(x) > 0] / N, exactly, since that statistic is a mean over positions as well.
The shares of every position of every pooled layer and view add up to the score minus the head's
output at all-zero statistics (exactly for a linear head, to first order for a deeper one). That is the
gradient x activation of HiResCAM at every pooled layer at once, each taken through that layer's own
statistics only, so it needs one forward pass and no backward pass through the conv layers.

The finer layers' shares are summed into the cells of `layer`'s grid (coarser ones spread over them),
then centred: the map shows where the picture pushes towards the target more than its average cell.
Last, it is blurred over neighbouring cells (a Gaussian of 1/28 of the grid's longer side, 16 px at
448): greying a region moves every activation whose receptive field reaches it, and the blurred map
told the faithfulness check's regions apart better on sources the model never saw (README, round five).
Each pooled map must span the whole picture (a conv layer's output, not a crop of it), so that its
positions can be laid over the picture. Chosen as the default by the faithfulness check (README): on
40 pictures of sources the model never saw it beat HiResCAM on deletion and on insertion.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np
import tensorflow as tf

from aiart.cam.base import BaseCAM, cached, conv_output, fold_views, input_spec, pixels, split_layers

SPLITS = ("mean", "std", "active")  # the statistics whose score this module splits over positions
BLUR = 28  # the map's blur: a Gaussian whose sigma is the grid's longer side / BLUR (4 cells of block3_conv3 at 448)


def moments_of(layer: keras.layers.Layer) -> tuple[str, ...]:
    """What a layer pools each channel into, in its output's order: GlobalAveragePooling2D its means, a
    layer with `moments` (aiart's ChannelStats) those, as all means, then all stds, then all shares
    of active positions; () for any other layer."""
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return ("mean",)
    moments = tuple(getattr(layer, "moments", ()))
    return moments if moments[:1] == ("mean",) and set(moments) <= set(SPLITS) else ()


def pooled_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers that pool a conv map into what the head reads (see `moments_of`)."""
    found = [layer for layer in model.layers if moments_of(layer)]
    if not found:
        raise ValueError(
            f"model {model.name!r} pools no conv map into channel statistics; a contribution map needs that"
        )
    return found


def shares(
    acts: tf.Tensor, pooled: tf.Tensor, grads: tf.Tensor | None, moments: tuple[str, ...] = ("mean", "std")
) -> tf.Tensor:
    """(B, h, w, C) activations, their (B, k*C) statistics (`moments`, as `moments_of` says) and the
    score's gradient with respect to those -> (B, h, w) float32: each position's share of the score.
    The share of active positions is a mean over positions too: g_active 1[a(x) > 0] / N.

    The activations are read in their own format (bfloat16 on most CPUs here) and never copied to
    float32: every layer's map is read once more, so this work is bound by memory, not arithmetic."""
    if grads is None:  # statistics the score does not read
        return tf.zeros(tf.shape(acts)[:3])
    channels = acts.shape[-1]
    part = {m: slice(i * channels, (i + 1) * channels) for i, m in enumerate(moments)}
    weights = grads[:, part["mean"]]
    total = 0.0
    if "std" in part:  # a(x)(a(x) - mu) g_std / sigma = a(x)^2 v - a(x) mu v
        v = grads[:, part["std"]] / pooled[:, part["std"]]
        weights -= pooled[:, part["mean"]] * v
        total = weighted_sum(tf.square(acts), v)
    if "active" in part:  # ReLU maps: sign(a) = 1[a > 0]
        total += weighted_sum(tf.sign(acts), grads[:, part["active"]])
    return (total + weighted_sum(acts, weights)) / tf.cast(tf.shape(acts)[1] * tf.shape(acts)[2], tf.float32)


def weighted_sum(maps: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """sum_c maps[..., c] * weights[:, c] per position, in the maps' format, returned as float32."""
    return tf.cast(tf.einsum("bhwc,bc->bhw", maps, tf.cast(weights, maps.dtype)), tf.float32)


def compiled_shares(model: keras.Model, layer: str):
    """x, sign -> (each pooled layer's (B, h, w) shares of sign * logit, the (h, w) of each layer of
    `layer`, logit, {each pooling layer's name: (its statistics, gradient of sign * logit with respect
    to them)}):
    one forward pass; the only backward pass is from the logit to the statistics."""

    def build():
        pools = pooled_layers(model)
        grids = [conv_output(model, name) for name in split_layers(layer)]
        tap = keras.Model(model.inputs, [[p.input for p in pools], [p.output for p in pools], grids, model.outputs[0]])

        @tf.function(input_signature=[input_spec(model), tf.TensorSpec((), tf.float32)])
        def fn(x, sign):
            with tf.GradientTape() as tape:
                tape.watch(x)  # records the head's ops, so the statistics' gradients exist
                acts, pooled, maps, logit = tap(x, training=False)
                score = sign * tf.reduce_sum(logit)
            grads = tape.gradient(score, pooled)
            parts: list[tf.Tensor] = []
            for a, p, g, layer in zip(acts, pooled, grads, pools):
                with tf.control_dependencies(parts[-1:]):  # one layer's temporary maps at a time, not all 13 at once
                    parts.append(shares(a, p, g, moments_of(layer)))
            stats = {pool.name: (p, tf.zeros_like(p) if g is None else g) for pool, p, g in zip(pools, pooled, grads)}
            return tuple(parts), tuple(tf.shape(m)[1:3] for m in maps), logit[:, 0], stats

        return fn

    return cached(model, (layer, "contribution"), build)


def on_grid(parts: list[np.ndarray], grid: tuple[int, int]) -> np.ndarray:
    """Sum (B, h, w) shares of any grids into (B, *grid) cells, each part's total kept."""
    h, w = grid
    total = np.zeros((len(parts[0]), h, w), np.float32)
    for part in parts:
        ph, pw = part.shape[1:]
        interp = cv2.INTER_AREA if ph * pw >= h * w else cv2.INTER_LINEAR
        cells = np.stack([cv2.resize(m.astype(np.float32), (w, h), interpolation=interp) for m in part])
        total += cells * (ph * pw / (h * w))  # mean share per cell -> the cell's sum
    return total


class ContributionCAM(BaseCAM):
    name = "contribution"
    linear = True

    def activations(self, x: np.ndarray, sign: float) -> tuple[list[np.ndarray], None, np.ndarray]:
        """One map of summed shares per layer of `layer` (its grid), centred, in place of activations.

        Keeps the pass's `statistics` (the gradients of the logit, not of sign * logit)."""
        with self.gate(pixels(x)):
            parts, grids, logits, stats = compiled_shares(self.model, self.layer)(
                tf.convert_to_tensor(x, tf.float32), tf.constant(sign, tf.float32)
            )
        self.statistics = {name: (p.numpy(), sign * g.numpy()) for name, (p, g) in stats.items()}
        parts = [fold_views(p.numpy(), len(x)) for p in parts]  # one map per picture before any resizing or blur
        maps = [on_grid(parts, tuple(g.numpy())) for g in grids]
        return [m - m.mean(axis=(1, 2), keepdims=True) for m in maps], None, logits.numpy()

    def cam_image(self, acts: np.ndarray, grads: None, x: np.ndarray, sign: float) -> np.ndarray:
        """The signed shares on the layer's grid, blurred over neighbouring cells (their total kept
        away from the borders)."""
        return np.stack([blur(m, max(m.shape) / BLUR) for m in acts])


def blur(cells: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of one map, sigma in cells (shared with `scripts/experiments/faith_smoothed.py`)."""
    return cv2.GaussianBlur(cells.astype(np.float32), (0, 0), sigma)
