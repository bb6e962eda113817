"""Two classifiers on the same validation images: numbers side by side, and where they disagree.

Both heads read the same cached features, so the comparison costs two tiny head passes (a model
with a fine-tuned block reads its own features of the same images); Grad-CAM
for the disagreements runs each full classifier on the few images shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aiart import metrics
from aiart.config import CLASS_NAMES
from aiart.data.dataset import Sample
from aiart.data.features import content_hashes
from aiart.data.images import ImageSource
from aiart.explain import Explanation, explain
from aiart.model.classifier import Classifier, sigmoid

PRETTY = {"AI_GENERATED": "AI", "NON_AI_GENERATED": "human"}


@dataclass
class Comparison:
    names: tuple[str, str]
    y: np.ndarray  # 1 = AI_GENERATED
    p: tuple[np.ndarray, np.ndarray]  # P(AI) of each model
    summaries: tuple[dict, dict]  # metrics.summary of each model
    disagree: np.ndarray  # indices where the labels differ, largest probability gap first


def same_features(a: Classifier, b: Classifier) -> bool:
    def spec(c: Classifier) -> tuple:
        return c.input_size, tuple(c.info.taps), c.backbone_version

    return spec(a) == spec(b)


def compare(
    a: Classifier,
    b: Classifier,
    feats: np.ndarray,
    y: np.ndarray,
    names: tuple[str, str] = ("default", "new"),
    feats_b: np.ndarray | None = None,
) -> Comparison:
    """Score both heads on the same images' features (N, D) with labels y (1 = AI); `feats_b` are
    b's own features of those images when it reads others (a fine-tuned block)."""
    if feats_b is None and not same_features(a, b):
        raise ValueError("the two models read different features (input size, taps or tuned layers differ)")
    y = np.asarray(y, int)
    p = (sigmoid(a.logits_of_features(feats)), sigmoid(b.logits_of_features(feats if feats_b is None else feats_b)))
    labels = [(pi >= clf.threshold).astype(int) for pi, clf in zip(p, (a, b))]
    idx = np.flatnonzero(labels[0] != labels[1])
    order = idx[np.argsort(-np.abs(p[0][idx] - p[1][idx]), kind="stable")]
    summaries = tuple(metrics.summary(pi, y, clf.threshold, clf.info.unsure) for pi, clf in zip(p, (a, b)))
    return Comparison(names, y, p, summaries, order)


def seen_count(trained_on: frozenset[str], samples: list[Sample]) -> int:
    """How many of `samples` a model trained on (by content hash): its scores on those flatter it."""
    return sum(h in trained_on for h in content_hashes([s.path for s in samples])) if trained_on else 0


def metric_rows(cmp: Comparison) -> list[dict]:
    """Rows (metric, model a, model b) for a table: overall numbers, then per-class ones."""
    sa, sb = cmp.summaries
    rows = [
        {"metric": "accuracy", cmp.names[0]: sa["accuracy"], cmp.names[1]: sb["accuracy"]},
        {"metric": "balanced accuracy", cmp.names[0]: sa["balanced_accuracy"], cmp.names[1]: sb["balanced_accuracy"]},
        {"metric": "calibration error, ECE (lower is better)", cmp.names[0]: sa["ece"], cmp.names[1]: sb["ece"]},
        {
            "metric": "gives a verdict (outside its 'not sure' band)",
            cmp.names[0]: sa["coverage"],
            cmp.names[1]: sb["coverage"],
        },
        {
            "metric": "right when it gives a verdict",
            cmp.names[0]: sa["accuracy_when_sure"],
            cmp.names[1]: sb["accuracy_when_sure"],
        },
    ]
    for cls in CLASS_NAMES:
        for m in ("precision", "recall", "f1"):
            rows.append(
                {
                    "metric": f"{PRETTY[cls]}: {m}",
                    cmp.names[0]: sa["per_class"][cls][m],
                    cmp.names[1]: sb["per_class"][cls][m],
                }
            )
    return rows


def confusion_table(summary: dict) -> dict[str, dict[str, int]]:
    """{"true AI": {"predicted AI": n, "predicted human": n}, "true human": {...}} for a dataframe."""
    return {
        f"true {PRETTY[t]}": {f"predicted {PRETTY[p]}": summary["confusion"][i][j] for j, p in enumerate(CLASS_NAMES)}
        for i, t in enumerate(CLASS_NAMES)
    }


@dataclass
class Disagreement:
    """One image the models label differently, with each model's Grad-CAM for its own verdict."""

    index: int
    true_label: str
    explanations: tuple[Explanation, Explanation]


def explain_disagreements(
    cmp: Comparison, a: Classifier, b: Classifier, images: Sequence[ImageSource], k: int = 4
) -> list[Disagreement]:
    """Grad-CAM of each model towards the class it chose, for the `k` biggest disagreements."""
    out = []
    for i in cmp.disagree[:k]:
        pair = tuple(explain(clf, images[i], target=clf.label(float(p[i]))) for clf, p in zip((a, b), cmp.p))
        out.append(Disagreement(int(i), CLASS_NAMES[0] if cmp.y[i] else CLASS_NAMES[1], pair))
    return out
