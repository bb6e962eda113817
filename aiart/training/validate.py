"""The yardstick: how a recipe does on sources it never saw, as mean ± spread over repeated
source-held-out splits, with tables per generator family and per kind of image.

Nothing is chosen on a fold's own held-out sources: each fold's calibration (temperature scaling)
and its "not sure" band are fit on the out-of-fold logits of its training sources' own inner folds.
Images of one source share one shift, so calibration and band weigh every *source* alike (each
image by 1 / its source's images): fit with images alike, they learn the largest sources'
confidence and are overconfident on a new source. Scores are reported both ways. Pure numpy and scikit-learn, so a
fit function of any kind (the probe, or a Keras head) can be judged the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from aiart import metrics

Fitter = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]  # (x, y) -> features -> logits
SCORES = (
    "accuracy",
    "balanced_accuracy",
    "auc",
    "ece",
    "ece_by_source",
    "coverage",
    "accuracy_when_sure",
    "coverage_by_source",
    "accuracy_when_sure_by_source",
)  # per seed; the band of each fold chosen on its training sources' inner folds
BIG_SOURCE = 60  # sources this large are placed first, so no fold gets two of them by chance


def source_folds(groups: Sequence[str], k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index per sample: whole sources, folds of similar size, another split for each seed."""
    groups = np.asarray(groups)
    names, counts = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    order = sorted(order, key=lambda i: -counts[i] if counts[i] >= BIG_SOURCE else 0)
    loads, fold_of = np.zeros(k), {}
    for i in order:
        f = int(np.argmin(loads))
        fold_of[names[i]] = f
        loads[f] += counts[i]
    return np.array([fold_of[g] for g in groups])


def source_weights(groups: Sequence[str]) -> np.ndarray:
    """Per image, 1 / the images of its source, scaled to mean 1: every source counts alike."""
    _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    w = 1.0 / counts[inverse]
    return w * len(w) / w.sum()


def temperature(logits: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """(a, 0) of P = metrics.sigmoid(a * logit): one scale for the logits (temperature scaling).

    Platt's extra intercept would move the verdict's threshold to suit the class mix of the
    training sources (45% AI); on unseen sources that cost 1.5 points of accuracy at 448. With the
    scale alone, the verdict stays the class-balanced probe's and only its confidence is fitted.
    """
    z = np.asarray(logits, float).reshape(-1, 1)
    model = LogisticRegression(C=1e4, fit_intercept=False).fit(z, y, sample_weight=weights)
    return float(model.coef_[0, 0]), 0.0


def with_copies(fit: Fitter) -> Fitter:
    """`fit` for rows of (picture, its copy) pairs, x of shape (n, 2, F): it learns from both rows with
    the picture's label and scores the pictures as stored, so held-out sources never lend a copy."""

    def fit_pairs(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        score = fit(np.concatenate([x[:, 0], x[:, 1]]), np.concatenate([y, y]))
        return lambda q: score(q[:, 0])

    return fit_pairs


def out_of_fold(x: np.ndarray, y: np.ndarray, fold: np.ndarray, fit: Fitter) -> np.ndarray:
    """Logits of every sample from a model that never saw its fold."""
    z = np.zeros(len(y))
    for f in np.unique(fold):
        test = fold == f
        z[test] = fit(x[~test], y[~test])(x[test])
    return z


def pair_models(x: np.ndarray, y: np.ndarray, fold: np.ndarray, fit: Fitter):
    """(f, g) -> the model fit on every fold but f and g, fit once: outer fold f's inner fold g and
    outer fold g's inner fold f train on the same images, so the inner folds need half the fits."""
    models: dict[frozenset, Callable[[np.ndarray], np.ndarray]] = {}

    def without(f: int, g: int) -> Callable[[np.ndarray], np.ndarray]:
        key = frozenset((int(f), int(g)))
        if key not in models:
            train = np.flatnonzero(~np.isin(fold, list(key)))
            models[key] = fit(x[train], y[train])
        return models[key]

    return without


def calibrated(
    x: np.ndarray,
    y: np.ndarray,
    fold: np.ndarray,
    fit: Fitter,
    z: np.ndarray,
    weights: np.ndarray | None = None,
    target: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """(P(AI), half-width of the "not sure" band) of each sample, from its out-of-fold logit `z`.
    Each fold's temperature and band are fit on inner out-of-fold logits of the other folds only
    (weighted by `weights`): the held-out sources never choose them."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    p, half = np.zeros(len(y)), np.zeros(len(y))
    without = pair_models(x, y, fold, fit)
    for f in np.unique(fold):
        rest = np.flatnonzero(fold != f)
        inner = np.zeros(len(y))
        for g in np.unique(fold[rest]):
            inner[fold == g] = without(f, g)(x[fold == g])
        inner = inner[rest]
        a, b = temperature(inner, y[rest], w[rest])
        test = fold == f
        p[test] = metrics.sigmoid(a * z[test] + b)
        half[test] = unsure_band(metrics.sigmoid(a * inner + b), y[rest], target, weights=w[rest])["half_width"]
    return p, half


def unsure_band(
    p: np.ndarray, y: np.ndarray, target: float = 0.9, step: float = 0.01, weights: np.ndarray | None = None
) -> dict:
    """The narrowest band around 0.5 outside which accuracy reaches `target`: the model answers
    "not sure" inside it. Reported with the share of images that still get a verdict. `p` may hold
    one row per seed; `weights` (one per image) say how much each image counts."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    w = np.broadcast_to(np.ones(p.shape[-1]) if weights is None else np.asarray(weights, float), p.shape).ravel()
    p, y = p.ravel(), np.broadcast_to(y, p.shape).ravel()
    for half in np.arange(0.0, 0.5, step):
        coverage, accuracy = metrics.when_sure(p, y, half, w)
        if coverage > 0 and accuracy >= target:
            return {
                "half_width": round(float(half), 4),
                "coverage": coverage,
                "accuracy_when_sure": accuracy,
                "target": target,
            }
    return {"half_width": 0.5, "coverage": 0.0, "accuracy_when_sure": float("nan"), "target": target}


@dataclass
class HeldOutCalibration:
    """What a model scored on held-out sources keeps (`a`, `band`: fitted on all of them), and numbers
    for those images that chose nothing (`p`, `half`: each half of the sources calibrated and banded by
    the other half, when both halves hold both classes; else the kept fit's, `cross_fitted` False)."""

    a: float
    band: dict
    p: np.ndarray
    half: np.ndarray
    cross_fitted: bool

    def summary(self, y: np.ndarray) -> dict:
        """`metrics.summary` of the honest P(AI), its band's coverage and accuracy per image's own band."""
        coverage, right = metrics.when_sure(self.p, y, self.half)
        return {
            **metrics.summary(self.p, y),
            "coverage": coverage,
            "accuracy_when_sure": right,
            "band": self.band,
            "cross_fitted": self.cross_fitted,
        }


def held_out_calibration(
    z: np.ndarray, y: np.ndarray, groups: Sequence[str], target: float = 0.9
) -> HeldOutCalibration:
    """Temperature and "not sure" band from the logits `z` of images whose sources the model never saw
    (a Train session's validation), each source weighted alike as for the shipped model."""
    z, y = np.asarray(z, float), np.asarray(y, int)
    w = source_weights(groups)
    a, b = temperature(z, y, w)
    band = unsure_band(metrics.sigmoid(a * z + b), y, target, weights=w)
    fold = source_folds(groups, 2)
    p, half = np.zeros(len(y)), np.zeros(len(y))
    for f in (0, 1):
        rest, test = fold != f, fold == f
        if len(set(y[rest].tolist())) < 2 or not test.any():
            return HeldOutCalibration(a, band, metrics.sigmoid(a * z + b), np.full(len(y), band["half_width"]), False)
        a_f, b_f = temperature(z[rest], y[rest], w[rest])
        p[test] = metrics.sigmoid(a_f * z[test] + b_f)
        half[test] = unsure_band(metrics.sigmoid(a_f * z[rest] + b_f), y[rest], target, weights=w[rest])["half_width"]
    return HeldOutCalibration(a, band, p, half, True)


def mean_sd(values: Sequence[float]) -> list[float]:
    return [float(np.mean(values)), float(np.std(values))]


@dataclass
class Yardstick:
    """Mean ± spread over seeds, tables per column of `by`, and each seed's out-of-fold values."""

    summary: dict[str, list[float]]
    tables: dict[str, dict[str, dict]]
    logits: np.ndarray  # (seeds, N) out-of-fold logits
    p: np.ndarray  # (seeds, N) calibrated out-of-fold P(AI)
    seeds: tuple[int, ...] = field(default=(0,))

    def as_dict(self) -> dict:
        return {"seeds": list(self.seeds), "summary": self.summary, "tables": self.tables}


def yardstick(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    fit: Fitter,
    k: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    by: Mapping[str, Sequence[str]] | None = None,
    weigh_sources: bool = True,
) -> Yardstick:
    """Repeated k-fold cross-validation holding out whole `groups` (source repositories).
    `weigh_sources`: calibration and band count each source alike (else each image)."""
    y = np.asarray(y, int)
    w = source_weights(groups)
    logits, probs, scores = [], [], {name: [] for name in SCORES}
    for seed in seeds:
        fold = source_folds(groups, k, seed)
        z = out_of_fold(x, y, fold, fit)
        p, half = calibrated(x, y, fold, fit, z, w if weigh_sources else None)
        report = metrics.summary(p, y)
        scores["accuracy"].append(report["accuracy"])  # the verdict the app shows: calibrated P >= 0.5
        scores["balanced_accuracy"].append(report["balanced_accuracy"])
        scores["auc"].append(float(roc_auc_score(y, z)) if len(set(y.tolist())) == 2 else float("nan"))
        scores["ece"].append(report["ece"])
        scores["ece_by_source"].append(metrics.ece(p, y, weights=w))
        for suffix, weights in (("", None), ("_by_source", w)):
            coverage, right = metrics.when_sure(p, y, half, weights)
            scores["coverage" + suffix].append(coverage)
            scores["accuracy_when_sure" + suffix].append(right)
        logits.append(z)
        probs.append(p)
    z_all, p_all = np.array(logits), np.array(probs)
    tables = {name: per_group(p_all, y, np.asarray(col)) for name, col in (by or {}).items()}
    summary = {name: mean_sd(v) for name, v in scores.items()}
    return Yardstick(summary, tables, z_all, p_all, tuple(seeds))


def per_group(p: np.ndarray, y: np.ndarray, col: np.ndarray) -> dict[str, dict]:
    """Images, accuracy (mean ± spread over seeds) and mean P(AI) for each value of `col`."""
    out = {}
    for g in sorted(set(col.tolist())):
        m = col == g
        acc = [float(np.mean((ps[m] >= 0.5) == y[m])) for ps in p]
        out[g] = {"n": int(m.sum()), "accuracy": mean_sd(acc), "mean_p_ai": float(p[:, m].mean())}
    return out
