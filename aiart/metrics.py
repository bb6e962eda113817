"""Evaluation numbers as pure functions of labels and probabilities (1 = AI_GENERATED)."""

from __future__ import annotations

import numpy as np

from aiart.config import CLASS_NAMES


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
    idx = np.minimum((p * bins).astype(int), bins - 1)
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


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of P(AI): bin-weighted |observed - predicted|."""
    total = max(len(p), 1)
    return float(sum(r["n"] / total * abs(r["frac_ai"] - r["mean_p"]) for r in reliability(p, y, bins) if r["n"]))


def summary(p: np.ndarray, y: np.ndarray, threshold: float = 0.5, unsure: float = 0.0) -> dict:
    """The `evaluate` report: n, accuracy, balanced accuracy, ECE, confusion, per-class metrics,
    and for the "not sure" band of half-width `unsure` around 0.5: the share of images that get a
    verdict (`coverage`) and the accuracy on those (`accuracy_when_sure`). Accuracy counts all."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    pred = (p >= threshold).astype(int)
    recalls = [np.mean(pred[y == c] == c) for c in (1, 0) if np.any(y == c)]
    sure = np.abs(p - 0.5) >= unsure
    return {
        "n": len(y),
        "accuracy": float(np.mean(pred == y)) if len(y) else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
        "ece": ece(p, y),
        "confusion": confusion(y, pred),
        "per_class": per_class(y, pred),
        "coverage": float(np.mean(sure)) if len(y) else float("nan"),
        "accuracy_when_sure": float(np.mean(pred[sure] == y[sure])) if sure.any() else float("nan"),
    }
