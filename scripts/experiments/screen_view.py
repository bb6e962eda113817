"""One more view's statistics for the accuracy screening, beside `screen_features.py`'s chunks.

The view (fixed before the run): the preprocessed image minus its 3x3 median, per colour channel.
A median keeps edges, so what is left is mostly noise and fine grain (a camera's, a film's), not the
outlines that the 2x2 high-pass view also holds. Its 13 layers' channel means and stds, at the
shipped input (longest side 448, aspect kept), for the same rows as the screening's chunks, are
written to OUT/median/chunk-*.npz as soon as each exists; `screen.py ... highpass highpass+median`
then scores it. Rule, fixed before the run: it goes on to a full yardstick run only if its mean
accuracy beats the shipped two views' (in the same screening) by at least their spread over seeds.

    python scripts/experiments/screen_view.py ../shared/data /work/cache/screen
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from aiart.data.dataset import scan
from aiart.data.images import open_image
from aiart.model.classifier import HeadInfo, batches, untrained_classifier


def median_residual(x: tf.Tensor) -> tf.Tensor:
    """x minus its 3x3 median (zero padding at the border), channel by channel."""
    patches = tf.image.extract_patches(x, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")
    shape = tf.shape(x)
    patches = tf.reshape(patches, (shape[0], shape[1], shape[2], 9, 3))
    median = tf.math.top_k(tf.transpose(patches, (0, 1, 2, 4, 3)), k=5).values[..., 4]
    return x - median


def fill_chunks(data: str, out: str, folder: str, names: tuple[str, ...], fn, views: int) -> None:
    """For each of `screen_features.py`'s chunks not yet in OUT/folder, run `fn` on its images (448 px,
    aspect kept, `views` passes per picture) and save its outputs there as `names`, beside the rows:
    each chunk is written as soon as it exists, so an interrupted run resumes."""
    samples = scan(data)
    outdir = Path(out, folder)
    outdir.mkdir(parents=True, exist_ok=True)
    for chunk in sorted(Path(out).glob("chunk-*.npz")):
        target = outdir / chunk.name
        if target.exists():
            continue
        rows = np.load(chunk, allow_pickle=True)["rows"]
        images = [open_image(samples[r].path) for r in rows]
        parts: dict[str, np.ndarray] = {}
        for idx, batch in batches(images, 448, True, 16, views):
            for name, values in zip(names, fn(tf.convert_to_tensor(batch))):
                if name not in parts:  # allocated once, at the first batch, when its width is known
                    parts[name] = np.zeros((len(images), values.shape[-1]), np.float32)
                parts[name][idx] = values.numpy()
        np.savez(target, rows=rows, **parts)
        print(f"{chunk.name} {len(rows)}", flush=True)


def main(data: str, out: str) -> None:
    clf = untrained_classifier(HeadInfo(input_size=448, keep_aspect=True))
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    view = tf.function(lambda x: (clf.features_model(median_residual(x), training=False),), input_signature=[spec])
    fill_chunks(data, out, "median", ("median",), view, 1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
