"""Two more statistics per channel for the accuracy screening, beside `screen_features.py`'s chunks.

The candidate (fixed before the run): for each of the 13 conv layers, both shipped views (plain and
high-pass), each channel's **share of active positions** (ReLU output above zero) and its **cube-root
mean cube** (generalized mean, p = 3), which weighs the strongest responses more than the mean and
std do. Both are means over positions, so the contribution map could still split them exactly to
first order. Written to OUT/moments/chunk-*.npz (arrays `active` and `gem3`, 8448 columns each) as
soon as each chunk exists; `screen.py ... highpass highpass+active highpass+gem3 highpass+moments`
scores them against the shipped two views. Rule, fixed before the run: the best of the three goes on
to a full yardstick run only if its mean accuracy beats the shipped two views' (in the same
screening) by at least their spread over seeds; three candidates make a lucky pass likelier, which
the full run (calibration and band on inner folds) is there to catch.

    python scripts/experiments/screen_moments.py ../shared/data /work/cache/screen
"""

from __future__ import annotations

import sys

import keras
import tensorflow as tf
from screen_view import fill_chunks

from aiart.model.backbone import BLOCKS
from aiart.model.classifier import HeadInfo, untrained_classifier

VIEWS = ("plain", "highpass")


def moments(maps: list[tf.Tensor], count: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(k*B, h, w, C) maps -> (B, k*sum C) share active and cube-root mean cube, views side by side."""
    active, gem3 = [], []
    for m in maps:
        m = tf.cast(m, tf.float32)
        active.append(tf.reduce_mean(tf.cast(m > 0, tf.float32), axis=(1, 2)))
        gem3.append(tf.pow(tf.reduce_mean(m * m * m, axis=(1, 2)) + 1e-12, 1 / 3))

    def join(parts):
        x = tf.concat(parts, -1)
        x = tf.reshape(x, (count, -1, x.shape[-1]))
        return tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, count * x.shape[-1]))

    return join(active), join(gem3)


def main(data: str, out: str) -> None:
    clf = untrained_classifier(HeadInfo(input_size=448, keep_aspect=True, views=VIEWS))
    names = [n for layers in BLOCKS.values() for n in layers]
    tap = keras.Model(clf.model.inputs, [clf.model.get_layer(n).output for n in names])
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    fn = tf.function(lambda x: moments(tap(x, training=False), len(VIEWS)), input_signature=[spec])
    fill_chunks(data, out, "moments", ("active", "gem3"), fn, len(VIEWS))


if __name__ == "__main__":
    main(*sys.argv[1:3])
