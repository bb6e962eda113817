"""Screen where things are in the picture (issue 20): do layout statistics add what the shipped ones miss?

Every statistic the shipped model reads is a mean over all positions, so it cannot tell a sharp
subject in the middle of a soft background (a studio look, shallow depth of field, the centred
composition many generators favour) from the same textures spread anywhere. Real street, food and
film photographs are cluttered and off-centre. Two candidates, fixed before the run, each beside the
shipped features (13 layers, plain and high-pass views, mean, std and share of active positions):

- **center**: for all 13 layers and both views, each channel's mean and share of active positions
  over the middle half of each side (a quarter of the area). With the whole picture's, the probe can
  weigh middle against surround. Both are means over positions, so the contribution map could still
  split them exactly.
- **grid**: block5_conv3's channel means (plain view) over a 3 x 3 grid: the layout of what VGG16
  recognises.

Same screening as `screen.py` (probe C = 0.01, balanced; 5 folds, seeds 0-2, whole sources held out;
accuracy at logit 0, which temperature scaling cannot move), on the pictures as stored (no copies);
the baseline is the shipped features in the same run. Rule, fixed before the run: the better of the
two goes on to a full yardstick run (with the degraded copies, calibration and band on inner folds)
only if its mean accuracy beats the baseline's by at least the baseline's spread over seeds.

Features are written to OUT/layout/chunk-*.npz as soon as each chunk exists (a rerun resumes); each
candidate's result to OUT/quick-*.json and its out-of-fold logits to OUT/oof-*.npz (for `faces.py`).

Result (session 16; 38 minutes of features, then 6-9 minutes per candidate): baseline 0.8376 ± 0.0056,
center 0.8204 ± 0.0063, grid 0.8264 ± 0.0042. Both lose, so neither goes on (README, *A seventh
screening*).

    python scripts/experiments/screen_layout.py ../shared/data OUT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screen import quick, shipped_store

from aiart.data.dataset import scan
from aiart.data.images import open_image
from aiart.model.backbone import BLOCKS
from aiart.model.classifier import HeadInfo, batches, untrained_classifier
from aiart.model.storage import load_classifier
from aiart.training import recipe
from aiart.training.probe import probe_fitter

VIEWS = ("plain", "highpass")
CHUNK = 256
GRID = 3


def center_stats(maps: list[tf.Tensor], count: int) -> tf.Tensor:
    """(k*B, h, w, C) maps -> (B, k * 2 * sum C): each channel's mean and share of active positions over
    the middle half of each side, views side by side."""
    parts = []
    for m in maps:
        h, w = tf.shape(m)[1], tf.shape(m)[2]
        mid = tf.cast(m[:, h // 4 : h - h // 4, w // 4 : w - w // 4, :], tf.float32)
        parts += [tf.reduce_mean(mid, axis=(1, 2)), tf.reduce_mean(tf.cast(mid > 0, tf.float32), axis=(1, 2))]
    x = tf.concat(parts, -1)
    x = tf.reshape(x, (count, -1, x.shape[-1]))
    return tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, count * x.shape[-1]))


def grid_means(m: np.ndarray) -> np.ndarray:
    """(B, h, w, C) -> (B, GRID * GRID * C): channel means over a GRID x GRID split of the map."""
    rows = np.array_split(np.arange(m.shape[1]), GRID)
    cols = np.array_split(np.arange(m.shape[2]), GRID)
    cells = [m[:, r[0] : r[-1] + 1, c[0] : c[-1] + 1].mean(axis=(1, 2)) for r in rows for c in cols]
    return np.concatenate(cells, axis=-1)


def extract(kept, out: Path) -> dict[str, np.ndarray]:
    """center and grid features of `kept`, in its order, from chunks written as soon as each exists."""
    clf = untrained_classifier(HeadInfo(input_size=448, keep_aspect=True, views=VIEWS))
    names = [n for layers in BLOCKS.values() for n in layers]
    tap = keras.Model(clf.model.inputs, [clf.model.get_layer(n).output for n in names])
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)

    @tf.function(input_signature=[spec])
    def fn(x):
        maps = tap(x, training=False)
        return center_stats(maps, len(VIEWS)), tf.cast(maps[-1], tf.float32)

    folder = out / "layout"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.time()
    for first in range(0, len(kept), CHUNK):
        target = folder / f"chunk-{first // CHUNK:03d}.npz"
        if target.exists():
            continue
        images = [open_image(s.path) for s in kept[first : first + CHUNK]]
        center = grid = None
        for idx, batch in batches(images, 448, True, 16, len(VIEWS)):
            c, last = fn(tf.convert_to_tensor(batch))
            if center is None:
                center = np.zeros((len(images), c.shape[-1]), np.float32)
                grid = np.zeros((len(images), GRID * GRID * last.shape[-1]), np.float32)
            center[idx] = c.numpy()
            grid[idx] = grid_means(last.numpy()[: len(idx)])  # the plain view: the first of the stacked views
        np.savez(target, center=center, grid=grid)
        print(f"{target.name} {first + len(images)}/{len(kept)} {time.time() - start:.0f} s", flush=True)
    parts = [np.load(p) for p in sorted(folder.glob("chunk-*.npz"))]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("center", "grid")}


def main(data: str, out: str) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x, y, kept, _ = recipe.features_for(shipped_store(load_classifier(None)), scan(data))
    extra = extract(kept, out)
    for name, feats in {"baseline": x, "center": (x, extra["center"]), "grid": (x, extra["grid"])}.items():
        screen_one(name, feats if name == "baseline" else np.concatenate(feats, axis=1), y, kept, out)


def screen_one(name: str, xs: np.ndarray, y: np.ndarray, kept, out: Path, fit=None) -> dict:
    """One candidate on the screening (`screen.quick`; the shipped probe unless `fit`): its line printed,
    its numbers written to OUT/quick-NAME.json and its out-of-fold logits to OUT/oof-NAME.npz."""
    groups = np.array([s.source for s in kept])
    kinds = np.array(recipe.table_columns(kept)["kind"])
    oof: list = []
    start = time.time()
    res = quick(xs, y, groups, fit or probe_fitter(), kinds, oof)
    slug = name.replace(" ", "-")
    np.savez(out / f"oof-{slug}.npz", logits=np.stack(oof), paths=np.array([str(s.path) for s in kept]), y=y)
    (out / f"quick-{slug}.json").write_text(json.dumps(res, indent=2))
    cells = "  ".join(f"{k} {res[k][0]:.4f}±{res[k][1]:.4f}" for k in ("accuracy", "balanced", "auc"))
    weak = "  ".join(f"{k} {res['kinds'][k]:.2f}" for k in ("human photo", "AI photo", "AI drawing"))
    print(f"{name:10s} dim {xs.shape[1]:6d}  {cells}  |  {weak}  ({time.time() - start:.0f} s)", flush=True)
    return res


if __name__ == "__main__":
    main(*sys.argv[1:])
