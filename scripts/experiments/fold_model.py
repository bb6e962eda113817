"""A probe that never saw one fold's sources, and a folder of that fold's images: what the
faithfulness check of issue 20 runs on (`python -m aiart --model OUT/fold.keras faithfulness OUT/images`).

The shipped recipe (features of the spec of MODEL, default `weights/head.keras`, from the cache, the
probe, with degraded copies of the training pictures when MODEL was trained with them, MODEL's
temperature and band) on every source outside fold FOLD of seed 0; the folder holds copies of a seeded
sample of N images of the held-out sources (copies: a folder's scan leaves out links that lead outside it; keep OUT
outside the repository, nothing of it is committed).

    python scripts/experiments/fold_model.py ../shared/data OUT --fold 0 --n 40 [--like MODEL]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from screen import recipe_copies, recipe_rows

from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.model.classifier import HeadInfo, untrained_classifier
from aiart.model.storage import load_classifier, save_head
from aiart.training import recipe, validate
from aiart.training.fit import fold_calibration
from aiart.training.probe import fit_probe, probe_head


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--like", default=None, help="the model whose spec, temperature and band to copy")
    ap.add_argument("--views", default=None, help="other views than that model's, e.g. plain,highpass")
    args = ap.parse_args()
    shipped = load_classifier(args.like)
    views = tuple(args.views.split(",")) if args.views else shipped.info.views
    spec = HeadInfo(
        input_size=shipped.input_size, keep_aspect=shipped.keep_aspect, views=views, moments=shipped.info.moments
    )
    clf = untrained_classifier(spec)
    x, y, kept, _ = recipe.features_for(FeatureStore(clf), scan(args.data))
    fold = validate.source_folds([s.source for s in kept], 5, seed=0)
    train = fold != args.fold
    head = probe_head(fit_probe(*recipe_rows(x, y, train, recipe_copies(shipped, FeatureStore(clf), kept))))
    fold_calibration(head, shipped.info.training["calibration"]["a"], 0.0)
    out = Path(args.out)
    info = HeadInfo(
        clf.input_size,
        clf.info.taps,
        keep_aspect=clf.keep_aspect,
        views=clf.info.views,
        moments=clf.info.moments,
        unsure=shipped.info.unsure,
    )
    save_head(head, info, out / "fold.keras")
    held = np.flatnonzero(~train)
    pick = np.random.default_rng(0).choice(held, size=min(args.n, len(held)), replace=False)
    for i in pick:
        s = kept[i]
        copy = out / "images" / s.label / f"{i:05d}{s.path.suffix}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.unlink(missing_ok=True)
        shutil.copyfile(s.path, copy)
    print(f"fold {args.fold}: trained on {int(train.sum())} images, {len(pick)} held-out images in {out / 'images'}")


if __name__ == "__main__":
    main()
