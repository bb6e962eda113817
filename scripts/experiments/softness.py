"""Does the soft-picture warning (aiart/trust/softness.py) mark the pictures the model gets wrong?

1. Every picture of the pool, scored by the probe of the yardstick's seed-0 fold that never saw its
   source (the shipped recipe on cached features, degraded copies included when it has them), with
   "soft" judged against that fold's own training pictures' 5th percentile: accuracy of soft and other
   pictures, by class.
2. The 200 pictures of fold 0 that the robustness probes used (IMAGES, with the fold-0 model
   FOLD_MODEL): the share called soft after each probe, and accuracy with and without the warning.

    python scripts/experiments/softness.py ../shared/data FOLD_MODEL IMAGES
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from screen import recipe_copies, recipe_rows

from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.data.images import open_image
from aiart.model.classifier import HeadInfo, untrained_classifier
from aiart.model.storage import load_classifier
from aiart.training import recipe, validate
from aiart.training.probe import fit_probe, probe_head
from aiart.trust.faithfulness import image_files
from aiart.trust.robustness import PROBES
from aiart.trust.softness import QUANTILE, sharpness


def accuracy(right: np.ndarray, mask: np.ndarray) -> dict:
    return {"n": int(mask.sum()), "accuracy": float(right[mask].mean()) if mask.any() else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("fold_model")
    ap.add_argument("images")
    args = ap.parse_args()
    shipped = load_classifier()
    spec = HeadInfo(
        input_size=shipped.input_size, keep_aspect=True, views=shipped.info.views, moments=shipped.info.moments
    )
    store = FeatureStore(untrained_classifier(spec))  # one VGG16 graph for the pictures and their copies
    x, y, kept, _ = recipe.features_for(store, scan(args.data))
    sharp = np.array([sharpness(open_image(s.path), spec.input_size) for s in kept])
    copies = recipe_copies(shipped, store, kept)
    fold = validate.source_folds([s.source for s in kept], 5, seed=0)
    soft, right = np.zeros(len(y), bool), np.zeros(len(y), bool)
    for f in range(5):
        train, test = fold != f, fold == f
        level = float(np.quantile(sharp[train], QUANTILE))
        logits = probe_head(fit_probe(*recipe_rows(x, y, train, copies)))(x[test]).numpy()[:, 0]
        right[test] = (logits >= 0) == (y[test] == 1)
        soft[test] = sharp[test] < level
        print(f"fold {f}: soft below {level:.1f}", flush=True)
    ai = y == 1
    pool = {
        "soft": accuracy(right, soft),
        "other": accuracy(right, ~soft),
        "soft AI": accuracy(right, soft & ai),
        "soft human": accuracy(right, soft & ~ai),
    }
    print(json.dumps({"pool, out of fold": pool}, indent=2), flush=True)

    clf = load_classifier(args.fold_model)
    train0 = fold != 0
    level0 = float(np.quantile(sharp[train0], QUANTILE))
    files = image_files(args.images)
    labels = np.array([p.parent.name == "AI_GENERATED" for p in files])
    probes = {"stored": lambda img: img} | {
        k: PROBES[k][1] for k in ("jpeg50", "screenshot", "blur1", "blur2", "resize0.5", "resize0.25")
    }
    rows = {}
    for name, probe in probes.items():
        imgs = [probe(open_image(p)) for p in files]
        p_ai = clf.predict(imgs)
        flags = np.array([sharpness(img, clf.input_size) < level0 for img in imgs])
        ok = (p_ai >= 0.5) == labels
        rows[name] = {
            "soft share": float(flags.mean()),
            "with warning": accuracy(ok, flags),
            "without": accuracy(ok, ~flags),
        }
        print(name, json.dumps(rows[name]), flush=True)


if __name__ == "__main__":
    main()
