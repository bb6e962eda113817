"""Screen candidate features on the yardstick (issue 20), from `screen_features.py`'s chunks.

Each candidate is the shipped recipe (standardize + logistic probe, C = 0.01, balanced classes)
on other features, judged on the yardstick's splits (5 folds, whole sources held out, seeds 0-2).
Screening needs only the outer folds: temperature scaling has no intercept, so it never moves
the verdict (logit >= 0); the winner then gets the full yardstick (`aiart train --cross-source`).
Rule, fixed before the run: a candidate replaces the shipped features only if its mean accuracy
beats the baseline's by at least the baseline's spread over seeds.

    python scripts/experiments/screen.py ../shared/data /work/cache/screen [candidate ...]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.model.classifier import HeadInfo, untrained_classifier
from aiart.training import validate
from aiart.training.augment import copies_features, degrade
from aiart.training.probe import probe_fitter
from aiart.training.recipe import table_columns

COV_CHANNELS = {"block2_conv2": 128, "block3_conv3": 256, "block4_conv3": 512}
PROJECTED = 1024  # per layer: a fixed Gaussian projection is data-independent, so no fold sees another's data


def correlation_projector(seed: int = 0):
    """cov upper triangles -> per layer, channel correlations (off-diagonal) times a fixed random projection."""
    rng = np.random.default_rng(seed)
    parts = []
    start = 0
    for c in COV_CHANNELS.values():
        rows, cols = np.triu_indices(c)
        size = len(rows)
        diag = np.flatnonzero(rows == cols)
        off = np.flatnonzero(rows != cols)
        proj = (rng.standard_normal((len(off), PROJECTED)) / np.sqrt(PROJECTED)).astype(np.float32)
        parts.append((start, size, diag, rows, cols, off, proj))
        start += size

    def project(cov: np.ndarray) -> np.ndarray:
        out = []
        for start, size, diag, rows, cols, off, proj in parts:
            block = cov[:, start : start + size]
            var = np.maximum(block[:, diag], 0) + 1e-3  # channel i's variance sits at diag[i]
            corr = block[:, off] / np.sqrt(var[:, rows[off]] * var[:, cols[off]])
            out.append(corr @ proj)
        return np.concatenate(out, axis=1)

    return project


def load(out: Path) -> dict[str, np.ndarray]:
    project = correlation_projector()
    keep: dict[str, list] = {"rows": [], "plain": [], "hp": [], "corr": [], "pool5_max": [], "maps": []}
    for chunk in sorted(out.glob("chunk-*.npz")):
        d = np.load(chunk, allow_pickle=True)
        keep["rows"].append(d["rows"])
        keep["plain"].append(d["plain"])
        keep["hp"].append(d["hp"])
        keep["corr"].append(project(d["cov"]))
        maps = d["maps"]
        keep["pool5_max"].append(np.stack([m.astype(np.float32).max(axis=(0, 1)) for m in maps]))
        keep["maps"].append(maps)
    feats = {k: np.concatenate(v) for k, v in keep.items()}
    # screen_view.py's third view and screen_moments.py's statistics, when computed
    for folder in ("median", "moments"):
        extra = sorted(Path(out, folder).glob("chunk-*.npz"))
        if not extra:
            continue
        parts = [np.load(chunk) for chunk in extra]
        if not np.array_equal(np.concatenate([p["rows"] for p in parts]), feats["rows"]):
            raise ValueError(f"the chunks in {folder}/ do not cover the screening's rows")
        for name in parts[0].files:
            if name != "rows":
                feats[name] = np.concatenate([p[name] for p in parts])
    return feats


CANDIDATES = {
    "baseline": ("plain",),
    "sources alike": ("plain",),  # the same features, the probe fit with each source weighted alike
    "gram": ("plain", "corr"),
    "highpass": ("plain", "hp"),
    "gram+highpass": ("plain", "corr", "hp"),
    "highpass+median": ("plain", "hp", "median"),  # screen_view.py: the image minus its 3x3 median
    # screen_moments.py: each channel's share of active positions, its cube-root mean cube, both
    "highpass+active": ("plain", "hp", "active"),
    "highpass+gem3": ("plain", "hp", "gem3"),
    "highpass+moments": ("plain", "hp", "active", "gem3"),
    "pool5 max": ("plain", "pool5_max"),
    "spatial head": (),  # a logistic score per block5_pool position, log-mean-exp pooled
}


def spatial_fitter(maps: np.ndarray, per_image: int = 24, seed: int = 0):
    """Each block5_pool position of a training image is an example with the image's label (a sample of
    `per_image` positions each); an image's logit is the log-mean-exp of its positions' logits, so a
    few strongly AI-looking regions can carry it. x's only column is the row index."""
    from scipy.special import logsumexp
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def positions(i: int) -> np.ndarray:
        return maps[i].reshape(-1, maps[i].shape[-1]).astype(np.float32)

    def fit(x, y):
        rng = np.random.default_rng(seed)
        xs, ys = [], []
        for i, label in zip(x[:, 0].astype(int), y):
            pos = positions(i)
            take = rng.choice(len(pos), size=min(per_image, len(pos)), replace=False)
            xs.append(pos[take])
            ys += [label] * len(take)
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, class_weight="balanced", max_iter=3000))
        pipe.fit(np.concatenate(xs), np.array(ys))

        def pooled(q):
            scores = (pipe.decision_function(positions(int(i))) for i in q[:, 0])
            return np.array([logsumexp(z) - np.log(len(z)) for z in scores])[:, None]

        # Pooling shifts the logits: an affine map fit on the training images (balanced) puts 0 back at the boundary.
        affine = LogisticRegression(class_weight="balanced").fit(pooled(x), y)
        return lambda q: affine.decision_function(pooled(q))

    return fit


def source_weighted_fitter(groups: np.ndarray):
    """The probe fit with sample weights 1 / images of the source; x's last column is the row index."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(x, y):
        idx = x[:, -1].astype(int)
        w = validate.source_weights(groups[idx])
        w = w * np.where(y == 1, 0.5 / np.average(y, weights=w), 0.5 / np.average(1 - y, weights=w))
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=3000))
        pipe.fit(x[:, :-1].astype(np.float64), y, logisticregression__sample_weight=w)
        return lambda q: pipe.decision_function(q[:, :-1].astype(np.float64))

    return fit


def shipped_store(shipped) -> FeatureStore:
    """A feature store of `shipped`'s own features (size, aspect, views, moments), from the cache."""
    spec = HeadInfo(
        input_size=shipped.input_size,
        keep_aspect=shipped.keep_aspect,
        views=shipped.info.views,
        moments=shipped.info.moments,
    )
    return FeatureStore(untrained_classifier(spec))


def recipe_copies(like, store: FeatureStore, kept) -> np.ndarray | None:
    """The degraded copies' features when `like` was trained with them (indexed as in the yardstick, so
    they are read from the cache), else None."""
    return copies_features(store, kept, degrade)[0] if like.info.training.get("degraded_copies") else None


def recipe_rows(x, y, train, copies: np.ndarray | None):
    """The rows and labels a probe of that recipe learns from: the pictures in `train`, and their copies."""
    if copies is None:
        return x[train], y[train]
    return np.concatenate([x[train], copies[train]]), np.concatenate([y[train], y[train]])


def quick(x, y, groups, fit, kinds, oof: list | None = None) -> dict:
    """Accuracy (logit >= 0, which temperature scaling never moves), balanced accuracy and AUC on
    held-out sources, mean ± spread over seeds 0-2, and accuracy per kind: the screening numbers.
    `oof`, when given, gets each seed's out-of-fold logits (for tables by other groupings)."""
    from sklearn.metrics import roc_auc_score

    scores: dict[str, list] = {"accuracy": [], "balanced": [], "auc": []}
    per_kind: dict[str, list] = {}
    for seed in (0, 1, 2):
        fold = validate.source_folds(groups, 5, seed)
        z = validate.out_of_fold(x, y, fold, fit)
        if oof is not None:
            oof.append(z)
        right = (z >= 0).astype(int) == y
        scores["accuracy"].append(right.mean())
        scores["balanced"].append(np.mean([right[y == c].mean() for c in (0, 1)]))
        scores["auc"].append(roc_auc_score(y, z))
        for k in set(kinds):
            per_kind.setdefault(k, []).append(right[kinds == k].mean())
    return {
        **{k: [float(np.mean(v)), float(np.std(v))] for k, v in scores.items()},
        "kinds": {k: float(np.mean(v)) for k, v in per_kind.items()},
    }


def main(data: str, out: str, *names: str) -> None:
    samples = scan(data)
    feats = load(Path(out))
    rows = feats["rows"]
    kept = [samples[r] for r in rows]
    y = np.array([s.y for s in kept])
    groups = np.array([s.source for s in kept])
    kinds = np.array(table_columns(kept)["kind"])
    print(f"{len(y)} images, {len(set(groups))} sources", flush=True)
    for name in names or CANDIDATES:
        index = np.arange(len(y))[:, None]
        if name == "spatial head":
            x, fit = index, spatial_fitter(feats["maps"])
        elif name == "sources alike":
            x, fit = np.concatenate([feats["plain"], index], axis=1), source_weighted_fitter(groups)
        else:
            x = np.concatenate([feats[k] for k in CANDIDATES[name]], axis=1)
            fit = probe_fitter()
        start = time.time()
        res = quick(x, y, groups, fit, kinds)
        cells = "  ".join(f"{k} {res[k][0]:.3f}±{res[k][1]:.3f}" for k in ("accuracy", "balanced", "auc"))
        weak = "  ".join(f"{k} {res['kinds'][k]:.2f}" for k in ("human photo", "human pixel", "human 3d", "AI drawing"))
        print(f"{name:16s} dim {x.shape[1]:6d}  {cells}  |  {weak}  ({time.time() - start:.0f} s)", flush=True)
        Path(out, f"quick-{name.replace(' ', '_').replace('+', '_')}.json").write_text(json.dumps(res))


if __name__ == "__main__":
    main(*sys.argv[1:])
