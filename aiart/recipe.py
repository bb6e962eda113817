"""From a data folder to a saved, calibrated head: the steps shared by CLI, Train page and tests."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from aiart import metrics
from aiart.dataset import Sample
from aiart.features import FeatureStore, Progress
from aiart.model import Classifier, HeadInfo, sigmoid
from aiart.train import TrainConfig, fit_head, fold_calibration, platt


def select(samples: Sequence[Sample], per_class: int | None, seed: int = 0) -> list[Sample]:
    """Up to `per_class` images of each class, drawn evenly across sources (round-robin)."""
    if not per_class:
        return list(samples)
    rng = np.random.default_rng(seed)
    chosen: list[Sample] = []
    for label in sorted({s.label for s in samples}):
        by_source: dict[str, list[Sample]] = {}
        for s in samples:
            if s.label == label:
                by_source.setdefault(s.source, []).append(s)
        queues = [list(rng.permutation(len(v))) for v in by_source.values()]
        lists = list(by_source.values())
        picked: list[Sample] = []
        while len(picked) < per_class and any(queues):
            for q, items in zip(queues, lists):
                if q and len(picked) < per_class:
                    picked.append(items[q.pop()])
        chosen += picked
    return chosen


def default_holdout(samples: Sequence[Sample], fraction: float = 0.2, seed: int = 0) -> list[str]:
    """Whole sources to validate on: about `fraction` of each class, never all of a class."""
    rng = np.random.default_rng(seed)
    held: list[str] = []
    for label in sorted({s.label for s in samples}):
        sources = sorted({s.source for s in samples if s.label == label})
        if len(sources) < 2:
            continue
        total = sum(s.label == label for s in samples)
        count = 0
        for src in rng.permutation(sources):
            n = sum(s.source == src and s.label == label for s in samples)
            if count + n > max(fraction * total * 1.5, 1) and count > 0:
                continue
            held.append(str(src))
            count += n
            if count >= fraction * total or len(held) >= len(sources) - 1:
                break
    return held


@dataclass
class Split:
    train: list[Sample]
    val: list[Sample]
    holdout: list[str] = field(default_factory=list)


def split(samples: Sequence[Sample], holdout: Sequence[str] | None = None, seed: int = 0) -> Split:
    holdout = list(holdout) if holdout is not None else default_holdout(samples, seed=seed)
    return Split([s for s in samples if s.source not in holdout], [s for s in samples if s.source in holdout], holdout)


def features_for(store: FeatureStore, samples: Sequence[Sample], progress: Progress | None = None):
    """Features and labels of the samples that decode; bad files are dropped and returned by path."""
    feats, errors = store.compute([s.path for s in samples], progress)
    ok = np.array([e is None for e in errors], bool)
    y = np.array([s.y for s in samples], int)
    bad = {str(s.path): e for s, e in zip(samples, errors) if e}
    return feats[ok], y[ok], [s for s, good in zip(samples, ok) if good], bad


@dataclass
class Result:
    head: keras.Model
    info: HeadInfo
    history: dict[str, list[float]]
    val_p: np.ndarray
    val_samples: list[Sample]
    seconds: float


def train_split(
    clf: Classifier,
    data: Split,
    config: TrainConfig,
    store: FeatureStore,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    progress: Progress | None = None,
    initial: keras.Model | None = None,
) -> Result:
    """Features (cached), fit, Platt-calibrate on the held-out sources, report their metrics."""
    start = time.monotonic()
    x_tr, y_tr, _, _ = features_for(store, data.train, progress)
    x_va, y_va, val_samples, _ = features_for(store, data.val, progress)
    if len(set(y_tr.tolist())) < 2:
        raise ValueError("training needs images of both classes outside the held-out sources")
    head, history = fit_head(x_tr, y_tr, x_va, y_va, config, callbacks, initial=initial)
    val_p = np.zeros(0)
    if len(y_va) and len(set(y_va.tolist())) == 2:
        logits = clf_logits(head, x_va)
        a, b = platt(logits, y_va)
        fold_calibration(head, a, b)
    if len(y_va):
        val_p = sigmoid(clf_logits(head, x_va))
    info = HeadInfo(
        input_size=clf.input_size,
        taps=clf.info.taps,
        threshold=0.5,
        training={
            "n_train": len(y_tr),
            "n_val": len(y_va),
            "holdout_sources": list(data.holdout),
            "config": config.as_dict(),
            "epochs_run": len(history.get("loss", [])),
        },
        metrics=metrics.summary(val_p, y_va) if len(y_va) else {},
    )
    return Result(head, info, history, val_p, val_samples, time.monotonic() - start)


def clf_logits(head: keras.Model, x: np.ndarray) -> np.ndarray:
    return head.predict(x.astype(np.float32), verbose=0, batch_size=512)[:, 0]
