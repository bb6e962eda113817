"""Evaluate a classifier on a labelled folder, through the shared feature cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiart import metrics
from aiart.data import dataset
from aiart.data.features import FeatureStore, Progress
from aiart.model.classifier import Classifier, sigmoid


def predict_folder(clf: Classifier, root: Path, progress: Progress | None = None):
    """Samples, P(AI) (NaN where the file is bad) and error messages, for a whole folder."""
    samples = dataset.scan(root)
    feats, errors = FeatureStore(clf).compute([s.path for s in samples], progress)
    p = np.full(len(samples), np.nan)
    ok = np.array([e is None for e in errors], bool)
    p[ok] = sigmoid(clf.logits_of_features(feats[ok]))
    return samples, p, errors


def evaluate_folder(clf: Classifier, root: Path, progress: Progress | None = None) -> dict:
    samples, p, errors = predict_folder(clf, root, progress)
    ok = ~np.isnan(p)
    y = np.array([s.y for s in samples])
    report = metrics.summary(p[ok], y[ok], clf.threshold, clf.info.unsure)
    report["errors"] = {str(s.path): e for s, e in zip(samples, errors) if e}
    return report
