"""Features for the accuracy screening (issue 20), in one pass over a data folder.

Per image, at the shipped model's input (longest side 448, aspect kept, this CPU's precision):
- the shipped recipe's features (channel mean + std of the 13 conv layers), written into the app's
  own FeatureStore, so `aiart validate` / `aiart train --cross-source` reuse them;
- channel covariances of block2_conv2, block3_conv3 and block4_conv3 (upper triangles);
- block5_pool's map (float16), for a head over spatial positions;
- the same 8448 statistics of a high-frequency view: the preprocessed image minus its
  nearest-upsampled 2x average-pooled copy (NPR, CVPR 2024).
Written in chunks to OUT/chunk-*.npz as soon as each exists, so a stopped run keeps its work.

    python scripts/experiments/screen_features.py ../shared/data /work/cache/screen
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from aiart.data.dataset import scan
from aiart.data.features import FeatureStore, keyed
from aiart.data.images import ImageError, open_image
from aiart.model.classifier import HeadInfo, batches, untrained_classifier

COV_LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3")
CHUNK = 256


def covariance_triu(acts: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) -> (B, C*(C+1)/2): centred channel covariance, upper triangle."""
    a = tf.cast(acts, tf.float32)
    b, c = tf.shape(a)[0], a.shape[-1]
    flat = tf.reshape(a, (b, -1, c))
    flat = flat - tf.reduce_mean(flat, axis=1, keepdims=True)
    cov = tf.einsum("bpc,bpd->bcd", flat, flat) / tf.cast(tf.shape(flat)[1], tf.float32)
    rows, cols = np.triu_indices(c)
    return tf.gather(tf.reshape(cov, (b, -1)), rows * c + cols, axis=1)


def high_pass(x: tf.Tensor) -> tf.Tensor:
    """x minus its nearest-upsampled 2x2 average: what neighbouring pixels do not share."""
    h, w = tf.shape(x)[1] // 2 * 2, tf.shape(x)[2] // 2 * 2
    x = x[:, :h, :w]
    down = tf.nn.avg_pool2d(x, 2, 2, "VALID")
    return x - tf.repeat(tf.repeat(down, 2, axis=1), 2, axis=2)


def main(data: str, out: str) -> None:
    clf = untrained_classifier(HeadInfo(input_size=448, keep_aspect=True))
    store = FeatureStore(clf)
    m = clf.model
    taps = [clf.features_model.output] + [m.get_layer(n).output for n in (*COV_LAYERS, "block5_conv3")]
    both = keras.Model(m.input, taps)
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)

    @tf.function(input_signature=[spec])
    def run(x):
        feats, *covs, b5 = both(x, training=False)
        pool5 = tf.nn.max_pool2d(tf.cast(b5, tf.float32), 2, 2, "VALID")
        return feats, tf.concat([covariance_triu(c) for c in covs], axis=1), pool5

    hp = tf.function(lambda x: clf.features_model(high_pass(x), training=False), input_signature=[spec])

    samples = scan(data)
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(samples), CHUNK):
        target = outdir / f"chunk-{start:05d}.npz"
        if target.exists():
            continue
        part = samples[start : start + CHUNK]
        images, rows = [], []
        for i, s in enumerate(part):
            try:
                images.append(open_image(s.path))
                rows.append(start + i)
            except ImageError:
                continue
        plain = np.zeros((len(images), 8448), np.float32)
        hpf = np.zeros_like(plain)
        covs = [None] * len(images)
        maps = [None] * len(images)
        for idx, batch in batches(images, 448, True, 16):
            x = tf.convert_to_tensor(batch)
            feats, cv, p5 = (t.numpy() for t in run(x))
            plain[idx] = feats
            hpf[idx] = hp(x).numpy()
            for j, i in enumerate(idx):
                covs[i] = cv[j]
                maps[i] = p5[j].astype(np.float16)
        for r, vec in zip(rows, plain):
            store.put(keyed(samples[r].path)[0], vec)
        obj = np.empty(len(maps), object)
        obj[:] = maps
        np.savez(target, rows=np.array(rows), plain=plain, hp=hpf, cov=np.stack(covs), maps=obj)
        print(f"{start + len(part)}/{len(samples)}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
