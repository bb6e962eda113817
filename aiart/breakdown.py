"""Where the score comes from: how far each VGG16 block, in each view, moved the logit away from an
average picture of the training pool.

The head reads every tapped conv layer's channel means and standard deviations (of each view),
standardized by the training pool's means. With g the gradient of the logit with respect to those
statistics f, the share of statistic j is g_j (f_j - mean_j): for a linear head (the shipped probe)
the shares add up exactly to the logit minus the logit of the average statistics, for a deeper head
(the Train page's) to first order. Summed by view and block, they tell a class whether fine detail
(block 1) or large shapes (block 5), in the picture or in its high-pass copy, made the verdict.
The heatmap says *where* in the picture; this says *which kind* of evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from aiart.data.images import ImageSource, open_image
from aiart.model.classifier import Classifier, feature_layout, stats_name


@dataclass
class Breakdown:
    logit: float  # the picture's logit (P(AI) = sigmoid)
    average: float  # the logit of the training pool's average statistics
    shares: dict[tuple[str, str], float]  # (view, block) -> its share of logit - average, views and blocks in order

    def by_block(self) -> dict[str, dict[str, float]]:
        """block -> {view: share}: one row per block, one column per view, for a stacked bar chart."""
        rows: dict[str, dict[str, float]] = {}
        for (view, block), share in self.shares.items():
            rows.setdefault(block, {})[view] = share
        return rows

    def summary(self) -> dict:
        return {
            "logit": self.logit,
            "average_logit": self.average,
            "shares": [{"view": v, "block": b, "share": s} for (v, b), s in self.shares.items()],
        }


def feature_groups(clf: Classifier) -> list[tuple[str, str]]:
    """(view, block) of each column of the feature vector."""
    layout = feature_layout(clf.info.taps, clf.info.views, clf.info.moments)
    return [(view, tap.split("_")[0]) for view, tap, _ in layout]


def training_mean(clf: Classifier, width: int) -> np.ndarray:
    """The statistics the head standardizes around (its `standardize` layer's mean); zeros without one."""
    names = {layer.name for layer in clf.head.layers}
    if "standardize" not in names:
        return np.zeros(width, np.float32)
    return np.asarray(clf.head.get_layer("standardize").mean, np.float32).reshape(-1)[:width]


def breakdown(clf: Classifier, image: ImageSource) -> Breakdown:
    """The logit of `image` against the average picture's, split by view and block (one features pass;
    a contribution map's pass gives the same through `from_statistics`)."""
    features = clf.features_of_batch(clf.to_batch([open_image(image)]))
    f = tf.convert_to_tensor(features, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(f)
        logit = clf.scorer(f, training=False)
    return split(clf, features[0], tape.gradient(logit, f).numpy()[0], float(logit.numpy()[0, 0]))


def from_statistics(
    clf: Classifier, statistics: Mapping[str, tuple[np.ndarray, np.ndarray]], logit: float
) -> Breakdown:
    """`breakdown` from one picture's pooled statistics and the logit's gradient with respect to them
    (a CAM pass's `statistics`, which the contribution map fills, a row per view): laid out as the head
    reads them, per view each tap's statistics side by side."""
    views = range(len(clf.info.views))

    def vector(part: int) -> np.ndarray:
        return np.concatenate([statistics[stats_name(tap)][part][v] for v in views for tap in clf.info.taps])

    return split(clf, vector(0), vector(1), logit)


def split(clf: Classifier, features: np.ndarray, grads: np.ndarray, logit: float) -> Breakdown:
    """One picture's feature vector and the logit's gradient with respect to it -> the shares g (f - mean)
    summed by view and block."""
    mean = training_mean(clf, len(features))
    shares: dict[tuple[str, str], float] = {}
    for group, share in zip(feature_groups(clf), grads * (features - mean)):
        shares[group] = shares.get(group, 0.0) + float(share)
    average = float(clf.logits_of_features(mean[None])[0])
    return Breakdown(logit, average, shares)
