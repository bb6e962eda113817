"""Evaluation numbers as pure functions of labels and probabilities (1 = AI_GENERATED)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from aiart.config import CLASS_NAMES


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logit -> probability, in float64 so large logits neither overflow nor round to exactly 0.5
    (SciPy's expit: a logit below -709 gives 0 without an overflow warning)."""
    return expit(np.asarray(z, dtype=np.float64))


def bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    """The equal-width bin of each P(AI); P = 1 falls in the last bin."""
    return np.minimum((np.asarray(p, float) * bins).astype(int), bins - 1)


def confusion(y: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    """Rows = true class, columns = predicted, both in CLASS_NAMES order (AI first)."""
    y, pred = np.asarray(y, int), np.asarray(pred, int)
    return [[int(np.sum((y == t) & (pred == p))) for p in (1, 0)] for t in (1, 0)]


def per_class(y: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, cls in zip(CLASS_NAMES, (1, 0)):
        tp = np.sum((pred == cls) & (y == cls))
        precision = tp / max(np.sum(pred == cls), 1)
        recall = tp / max(np.sum(y == cls), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        out[name] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(np.sum(y == cls)),
        }
    return out


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per equal-width bin of P(AI): count, mean confidence, observed fraction of AI images."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    idx = bin_index(p, bins)
    rows = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        rows.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "n": n,
                "mean_p": float(p[mask].mean()) if n else float("nan"),
                "frac_ai": float(y[mask].mean()) if n else float("nan"),
            }
        )
    return rows


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10, weights: np.ndarray | None = None) -> float:
    """Expected calibration error of P(AI): bin-weighted |observed - predicted|. `weights` per image
    (e.g. `1 / images of its source`, so each source counts alike); default: images alike."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, float)
    idx = bin_index(p, bins)
    total = max(w.sum(), 1e-12)
    gaps = [
        w[m].sum() / total * abs(np.average(y[m], weights=w[m]) - np.average(p[m], weights=w[m]))
        for m in (idx == b for b in range(bins))
        if w[m].sum() > 0
    ]
    return float(sum(gaps))


def when_sure(p: np.ndarray, y: np.ndarray, half_width: np.ndarray | float, weights: np.ndarray | None = None):
    """(coverage, accuracy_when_sure): the share of images outside the "not sure" band of
    `half_width` around 0.5 (one per image, or one for all), and how often their verdict is right."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, float)
    sure = np.abs(p - 0.5) >= half_width
    if not len(p):
        return float("nan"), float("nan")
    right = (p >= 0.5).astype(int) == y
    accuracy = float(np.average(right[sure], weights=w[sure])) if w[sure].sum() > 0 else float("nan")
    return float(np.average(sure, weights=w)), accuracy


def summary(p: np.ndarray, y: np.ndarray, threshold: float = 0.5, unsure: float = 0.0) -> dict:
    """The `evaluate` report: n, accuracy, balanced accuracy, ECE, confusion, per-class metrics,
    and for the "not sure" band of half-width `unsure` around 0.5: the share of images that get a
    verdict (`coverage`) and the accuracy on those (`accuracy_when_sure`). Accuracy counts all."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    pred = (p >= threshold).astype(int)
    recalls = [np.mean(pred[y == c] == c) for c in (1, 0) if np.any(y == c)]
    coverage, accuracy_when_sure = when_sure(p, y, unsure)
    return {
        "n": len(y),
        "accuracy": float(np.mean(pred == y)) if len(y) else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
        "ece": ece(p, y),
        "confusion": confusion(y, pred),
        "per_class": per_class(y, pred),
        "coverage": coverage,
        "accuracy_when_sure": accuracy_when_sure,
    }
