"""Image-weighted against source-weighted temperature scaling (issue 20), on seed 0's out-of-fold
logits of the shipped recipe: each fold's temperature is fit on the other folds' out-of-fold logits
(their labels only; a cheaper stand-in for the yardstick's inner folds) and judged on the fold's
own held-out sources, by ECE counted per image and per source.

    python scripts/experiments/calibration.py ../shared/data
"""

from __future__ import annotations

import sys

import numpy as np

from aiart import metrics
from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.model.classifier import HeadInfo, untrained_classifier
from aiart.training import recipe, validate
from aiart.training.probe import probe_fitter


def main(data: str) -> None:
    clf = untrained_classifier(HeadInfo(input_size=448, keep_aspect=True))
    x, y, kept, _ = recipe.features_for(FeatureStore(clf), scan(data))
    groups = [s.source for s in kept]
    w = validate.source_weights(groups)
    fold = validate.source_folds(groups, 5, seed=0)
    z = validate.out_of_fold(x, y, fold, probe_fitter())
    for name, weights in (("images alike", None), ("sources alike", w)):
        p = np.zeros(len(y))
        for f in range(5):
            rest, test = fold != f, fold == f
            a, _ = validate.temperature(z[rest], y[rest], None if weights is None else weights[rest])
            p[test] = metrics.sigmoid(a * z[test])
        print(f"{name:14s} ECE by image {metrics.ece(p, y):.3f}  by source {metrics.ece(p, y, weights=w):.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
