"""bfloat16 against float32 on real artworks (issue 23): the same probes on both formats' features.

A seeded sample of N images; for each fold of the yardstick's seed 0, the probe trained on the
bfloat16 features of the other folds' sources scores that fold's sampled images from both formats'
features (calibrated with the shipped temperature). Prints accuracy, AUC and ECE per format, the
largest |dP(AI)|, the verdicts that change (band included) and, on the first M images, the rank
correlation of the shipped model's Grad-CAM maps in the two formats.

    python scripts/experiments/agreement.py ../shared/data --n 300 --maps 20
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from aiart import metrics
from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.explain import explain
from aiart.model.classifier import Classifier, HeadInfo, build_head, feature_dim
from aiart.model.storage import load_classifier
from aiart.training import recipe, validate
from aiart.training.probe import fit_probe


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--maps", type=int, default=20)
    args = ap.parse_args()
    shipped = {p: load_classifier(precision=p) for p in ("float32", "bfloat16")}
    info = HeadInfo(input_size=448, keep_aspect=True)
    stores = {p: FeatureStore(Classifier(build_head(feature_dim(info.taps)), info, precision=p)) for p in shipped}
    x, y, kept, _ = recipe.features_for(stores["bfloat16"], scan(args.data))
    pick = np.sort(np.random.default_rng(0).choice(len(y), size=args.n, replace=False))
    x32, _, _, _ = recipe.features_for(stores["float32"], [kept[i] for i in pick])
    fold = validate.source_folds([s.source for s in kept], 5, seed=0)
    a = shipped["float32"].info.training["calibration"]["a"]
    p = {"float32": np.zeros(args.n), "bfloat16": np.zeros(args.n)}
    for f in range(5):
        probe = fit_probe(x[fold != f], y[fold != f])
        rows = np.flatnonzero(fold[pick] == f)
        p["bfloat16"][rows] = metrics.sigmoid(a * probe.decision_function(x[pick[rows]].astype(np.float64)))
        p["float32"][rows] = metrics.sigmoid(a * probe.decision_function(x32[rows].astype(np.float64)))
    ys, clf = y[pick], shipped["float32"]
    for name, q in p.items():
        acc, auc, ece = np.mean((q >= 0.5) == ys), roc_auc_score(ys, q), metrics.ece(q, ys)
        print(f"{name:9s} accuracy {acc:.3f}  AUC {auc:.3f}  ECE {ece:.3f}")
    delta = np.abs(p["float32"] - p["bfloat16"])
    changed = sum(clf.verdict(a_) != clf.verdict(b_) for a_, b_ in zip(p["float32"], p["bfloat16"]))
    print(f"|dP(AI)|: max {delta.max():.4f}, mean {delta.mean():.4f}; verdicts changed {changed} of {args.n}")
    rhos = [
        spearmanr(*(explain(shipped[q], kept[i].path).heatmap.ravel() for q in shipped)).statistic
        for i in pick[: args.maps]
    ]
    print(f"Grad-CAM rank correlation over {len(rhos)} images: median {np.median(rhos):.4f}, min {np.min(rhos):.4f}")


if __name__ == "__main__":
    main()
