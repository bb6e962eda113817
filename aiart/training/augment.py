"""Extra training copies of each picture, with its label: mirrored, or degraded the way pictures are
on their way to a classroom (the shipped recipe's copies; both are the Train page's augmentation).

A copy is keyed by its pixels, so its features are cached like any image's: the first pass computes
them, later runs read them from disk. Copies are made in chunks, so only `chunk` decoded pictures are
held at a time. Held-out pictures never get copies: they are scored as stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageOps

from aiart.data.dataset import Sample
from aiart.data.features import FeatureStore, Progress
from aiart.data.images import ImageError, open_image
from aiart.trust.robustness import blur, down_up, jpeg, screenshot

Transform = Callable[[Image.Image, int], Image.Image]  # (picture, its index in the list) -> its copy


def mirror(img: Image.Image, _index: int) -> Image.Image:
    return ImageOps.mirror(img)


def degrade(img: Image.Image, index: int) -> Image.Image:
    """One degradation per picture, drawn from a seed of its index: a Gaussian blur (radius 0.5-2), a
    shrink to 0.25-0.7x and back, JPEG quality 40-90, or a screenshot (2/3 size, PNG): the robustness
    probes' own operations. The same list of pictures always gets the same copies (and cache hits)."""
    rng = np.random.default_rng(1000 + index)
    kind = rng.integers(4)
    if kind == 0:
        return blur(float(rng.uniform(0.5, 2.0)))(img)
    if kind == 1:
        return down_up(float(rng.uniform(0.25, 0.7)))(img)
    if kind == 2:
        return jpeg(int(rng.integers(40, 91)))(img)
    return screenshot(img)


COPIES: dict[str, Transform] = {"mirrored": mirror, "degraded": degrade}  # a training run's augmentation, by name


def copies_features(
    store: FeatureStore,
    samples: Sequence[Sample],
    transform: Transform,
    progress: Progress | None = None,
    chunk: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of one `transform`ed copy of each sample that decodes (in order)."""
    feats, labels = [], []
    for start in range(0, len(samples), chunk):
        images = []
        for i, s in enumerate(samples[start : start + chunk], start):
            try:
                images.append((s, transform(open_image(s.path), i)))
            except ImageError:
                continue  # already reported by the plain pass
        sub = None if progress is None else (lambda d, _t, e, o=start: progress(o + d, len(samples), e))
        x, errors = store.compute([img for _, img in images], sub)
        feats.append(x[[e is None for e in errors]])
        labels += [s.y for (s, _), e in zip(images, errors) if e is None]
    empty = np.zeros((0, *store.shape), store.extractor.dtype)
    return (np.concatenate(feats) if feats else empty), np.array(labels, int)
