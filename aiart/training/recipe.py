"""From a data folder to a saved, calibrated head: the steps shared by CLI, Train page and tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from aiart import metrics
from aiart.data.dataset import Sample
from aiart.data.families import family
from aiart.data.features import FeatureStore, Progress, content_hashes
from aiart.model.classifier import Classifier, HeadInfo, sigmoid, tuned_convs, untrained_classifier
from aiart.training import finetune, validate
from aiart.training.augment import COPIES, copies_features, degrade
from aiart.training.fit import TrainConfig, fit_head, fold_calibration
from aiart.training.probe import DEFAULT_C, fit_probe, probe_fitter, probe_head
from aiart.trust import softness

# The Train page's feature base, smaller than the shipped model's 448 so a class session stays short.
# Yardstick (a probe on the whole pool, 3 x 5 source-held-out folds): 224x224 0.770 +- 0.007,
# 192x192 0.768 +- 0.006 at 0.73x the VGG16 work per image. Rule fixed before measuring: the smaller
# size wins within 0.010.
TRAIN_INPUT_SIZE = 192
# At most this many training pictures set a session's soft-picture level: each is decoded again (0.3 s
# for the default session's 160, of a 1.3 s session on cached features), whatever the session's size.
SHARPNESS_SAMPLE = 200


def train_base() -> Classifier:
    """VGG16 with an untrained head at TRAIN_INPUT_SIZE: the features every Train session trains on."""
    return untrained_classifier(HeadInfo(input_size=TRAIN_INPUT_SIZE))


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


def random_parts(samples: Sequence[Sample], parts: int = 5, seed: int = 0) -> tuple[list[Sample], list[str]]:
    """Split each class that comes from a single source into `parts` random groups, so some of it
    can be held out; returns the samples and the classes split this way (a random split, which
    flatters a model more than a cross-source one: say so)."""
    out, split_labels = list(samples), []
    for label in sorted({s.label for s in samples}):
        idx = [i for i, s in enumerate(samples) if s.label == label]
        if len({samples[i].source for i in idx}) > 1 or len(idx) < 2:
            continue
        split_labels.append(label)
        for i, k in zip(idx, np.random.default_rng(seed).permutation(len(idx)) % parts):
            s = samples[i]
            out[i] = Sample(s.path, s.label, f"{s.source} · random part {k + 1}")
    return out, split_labels


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


def stages(progress: Progress | None, sizes: Sequence[int]) -> list[Progress | None]:
    """One callback per consecutive stage, each reporting overall (done, total, elapsed) to `progress`."""
    if progress is None:
        return [None] * len(sizes)
    total, start = sum(sizes), time.monotonic()
    offsets = np.cumsum([0, *sizes[:-1]]).tolist()
    return [lambda d, _t, _e, o=o: progress(o + d, total, time.monotonic() - start) for o in offsets]


class Stopped(Exception):
    """Raised by a progress callback once the user pressed Stop (`aiart.training.live.StopRequested`)."""


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
    augment: str | None = None,
    strategy: tf.distribute.Strategy | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> Result:
    """Features (cached), fit, then calibration (temperature) and "not sure" band fitted on the held-out
    sources as for the shipped model; the metrics reported are cross-fitted (`validate.held_out_calibration`).

    `augment` names the copies of the training images to add (`augment.COPIES`: mirrored or degraded;
    never of the validation images).
    With `config.finetune_epochs`, the head trained on frozen features then goes on training with
    the last tapped conv block (`aiart.training.finetune`), on that block's cached inputs.
    `progress` sees one count over all passes: train, validation, the copies (then the same
    three for the tuned block's inputs). Fine-tuning is skipped once `stopped()` (the user's Stop).
    """
    start = time.monotonic()
    n_tr, n_va, n_cp = len(data.train), len(data.val), len(data.train) if augment else 0
    passes = [n_tr, n_va, n_cp] * (2 if config.finetune_epochs else 1)
    p_train, p_val, p_copies, *p_tuned = stages(progress, passes)
    x_tr, y_tr, kept, _ = features_for(store, data.train, p_train)
    x_va, y_va, val_samples, _ = features_for(store, data.val, p_val)
    n_images = len(y_tr)
    if augment:
        x_cp, y_cp = copies_features(store, kept, COPIES[augment], p_copies)
        x_tr, y_tr = np.concatenate([x_tr, x_cp]), np.concatenate([y_tr, y_cp])
    if len(set(y_tr.tolist())) < 2:
        raise ValueError("training needs images of both classes outside the held-out sources")
    head, history = fit_head(x_tr, y_tr, x_va, y_va, config, callbacks, strategy, initial)
    z_va = None
    if config.finetune_epochs and not stopped():
        tuned = Tuning(clf, kept, val_samples, augment, p_tuned)
        with contextlib.suppress(Stopped):  # Stop while the tuned block's inputs are computed: keep the head
            head, history, z_va = tuned.fit(head, history, x_tr, y_tr, x_va, y_va, config, callbacks, strategy)
    if z_va is None:
        z_va = clf_logits(head, x_va)
    scores, unsure = (metrics.summary(sigmoid(z_va), y_va) if len(y_va) else {}), 0.0
    if len(set(y_va.tolist())) == 2:  # calibration and band as the shipped model's, from these held-out sources
        held = validate.held_out_calibration(z_va, y_va, [s.source for s in val_samples])
        fold_calibration(head, held.a, 0.0)
        z_va = held.a * z_va
        scores, unsure = held.summary(y_va), held.band["half_width"]
    val_p = sigmoid(z_va) if len(y_va) else np.zeros(0)
    info = HeadInfo(
        input_size=clf.input_size,
        taps=clf.info.taps,
        threshold=0.5,
        unsure=unsure,
        training={
            "n_train": n_images,
            "augmentation": augment,
            "augmented_copies": len(y_tr) - n_images,
            "n_val": len(y_va),
            "holdout_sources": list(data.holdout),
            "config": config.as_dict(),
            "epochs_run": len(history.get("loss", [])),
            **({"finetuned": list(tuned_convs(head))} if config.finetune_epochs else {}),
        },
        metrics={
            **scores,
            "sharpness": softness.reference([s.path for s in kept], clf.input_size, most=SHARPNESS_SAMPLE),
        },
    )
    return Result(head, info, history, val_p, val_samples, time.monotonic() - start)


@dataclass
class Tuning:
    """The second stage of `train_split` with fine-tuning: the tuned block's cached inputs for the
    same images (and mirrored copies), then `finetune.finetune` starting from the trained head."""

    clf: Classifier
    train: list[Sample]
    val: list[Sample]
    augment: str | None
    progress: Sequence[Progress | None]

    def inputs(self, x_tr: np.ndarray, x_va: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        pools = FeatureStore(self.clf, extractor=finetune.pool_extractor(self.clf))
        pool_tr = pools.compute([s.path for s in self.train], self.progress[0])[0]
        pool_va = pools.compute([s.path for s in self.val], self.progress[1])[0]
        if self.augment:
            pool_tr = np.concatenate(
                [pool_tr, copies_features(pools, self.train, COPIES[self.augment], self.progress[2])[0]]
            )
        frozen = x_tr.shape[1] - finetune.tuned_dim(self.clf.info.taps)
        return finetune.inputs_of(pool_tr, x_tr, frozen), finetune.inputs_of(pool_va, x_va, frozen)

    def fit(self, head, history, x_tr, y_tr, x_va, y_va, config, callbacks, strategy):
        """Returns the tuned model, the history of both stages joined, and validation logits."""
        train, val = self.inputs(x_tr, x_va)
        done = len(history.get("loss", []))
        has_val = len(y_va) > 0
        model, more = finetune.finetune(
            self.clf, head, train, y_tr, val if has_val else None, y_va, config, callbacks, strategy, done
        )
        joined = {k: history.get(k, [])[:done] + more.get(k, []) for k in {*history, *more}}
        return model, joined, finetune.logits(model, val) if has_val else np.zeros(0)


def clf_logits(head: keras.Model, x: np.ndarray) -> np.ndarray:
    return head.predict(x.astype(np.float32), verbose=0, batch_size=512)[:, 0]


def table_columns(samples: Sequence[Sample]) -> dict[str, list[str]]:
    """The yardstick's table columns per sample: generator family (AI) and label-qualified kind."""
    return {
        "family": [family(s.generator) if s.y else "human-made" for s in samples],
        "kind": [f"{'AI' if s.y else 'human'} {s.kind or 'unknown'}" for s in samples],
    }


def train_default(
    clf: Classifier,
    samples: Sequence[Sample],
    c: float = DEFAULT_C,
    folds: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    progress: Progress | None = None,
    degraded: bool = False,
) -> tuple[keras.Model, HeadInfo, list[str]]:
    """The shipped model: the yardstick for honest numbers, then the probe on all the data.

    The temperature scaling baked into the final head is fit on out-of-fold logits (sources unseen by
    each fold's probe), and the "not sure" band is chosen on the calibrated out-of-fold P(AI):
    neither looks at images the yardstick then judges. `degraded`: every training picture also lends
    one degraded copy (`augment.degrade`) with its label; held-out pictures are scored as stored.
    Returns the head, its description and the content hashes of the images it was trained on.
    """
    store = FeatureStore(clf)
    p_plain, p_copies = stages(progress, [len(samples), len(samples) if degraded else 0])
    x, y, kept, bad = features_for(store, samples, p_plain)
    groups = [s.source for s in kept]
    by = {**table_columns(kept), "source": groups}
    fitter, rows, labels = probe_fitter(c), x, y
    if degraded:  # one (picture, copy) array serves the yardstick's pairs and, as rows, the final probe
        x = np.stack([x, copies_features(store, kept, degrade, p_copies)[0]], axis=1)
        rows, labels = x.reshape(-1, x.shape[-1]), np.repeat(y, 2)
        fitter = validate.with_copies(fitter)
    report = validate.yardstick(x, y, groups, fitter, folds, seeds, by)
    weights = validate.source_weights(groups)
    band = validate.unsure_band(report.p, y, weights=weights)
    a, b = validate.temperature(report.logits[0], y, weights)
    head = probe_head(fit_probe(rows, labels, c))
    fold_calibration(head, a, b)
    info = HeadInfo(
        input_size=clf.input_size,
        taps=clf.info.taps,
        keep_aspect=clf.keep_aspect,
        views=clf.info.views,
        moments=clf.info.moments,
        unsure=band["half_width"],
        training={
            "data": "shared/data (see README model card)",
            "n": len(y),
            "n_ai": int(y.sum()),
            "n_human": int(len(y) - y.sum()),
            "sources": len(set(groups)),
            "skipped_files": len(bad),
            "head": f"logistic regression (scikit-learn), C={c}, balanced classes, standardized features",
            "degraded_copies": len(labels) - len(y),
            "validation": f"{folds}-fold cross-validation holding out whole source repositories, seeds {list(seeds)}",
            "calibration": {
                "method": "temperature scaling on out-of-fold logits, each source weighted alike",
                "a": a,
                "b": b,
            },
        },
        metrics={
            "yardstick": report.as_dict(),
            "unsure": band,
            "cross_source": metrics.summary(report.p[0], y, 0.5, band["half_width"]),
            "sharpness": softness.reference([s.path for s in kept], clf.input_size),  # the soft-picture warning's level
        },
    )
    return head, info, content_hashes([s.path for s in kept])
