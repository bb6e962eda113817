"""Model-randomization sanity check (Adebayo et al., 2018, "Sanity Checks for Saliency Maps", arXiv 1810.03292).

If a heatmap explains the *model*, it must change when the model's weights are destroyed. We
randomize the trained head first (the only part of aiart that learned anything about AI art),
then cascade down the VGG16 conv blocks (block5, then block4, ...), each stage keeping the
earlier ones random, and compare every method's map with the original one by Spearman rank
correlation. A method whose map still correlates above `THRESHOLD` (0.5: more alike than not) at
any stage is flagged: it shows something about the image (edges, bright areas) rather than the
model's decision.

The shared classifier is never touched: the check builds its own copy (a cloned head with the same
weights, a fresh conv graph) and randomizes that copy's layers in place, stage by stage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
from scipy.stats import rankdata

from aiart.cam import METHODS
from aiart.data.images import ImageSource, open_image
from aiart.explain import default_layer, target_sign
from aiart.model.backbone import BLOCKS
from aiart.model.classifier import Classifier, sigmoid

THRESHOLD = 0.5


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps; 0 when either is constant (it ranks nothing)."""
    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def copy_classifier(clf: Classifier) -> Classifier:
    """A classifier with the same weights that shares no variables with `clf`."""
    head = keras.models.clone_model(clf.head)
    for src, dst in zip(clf.head.layers, head.layers):
        # Keras's own saving protocol: unlike set_weights, it also refreshes Normalization's cached mean/variance.
        store: dict = {}
        src.save_own_variables(store)
        dst.load_own_variables(store)
    return Classifier(head, clf.info)


def randomize(layer: keras.layers.Layer, seed: int) -> None:
    """Re-draw a Dense/Conv2D layer's weights from its own initializers (seeded kernel)."""
    config = layer.kernel_initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    kernel = type(layer.kernel_initializer).from_config(config)(layer.kernel.shape)
    layer.set_weights([keras.ops.convert_to_numpy(kernel), np.zeros(layer.bias.shape, np.float32)])


def stages(clf: Classifier) -> list[tuple[str, list[str]]]:
    """("head", its Dense layers), then each conv block present, top down, its layers top down."""
    dense = [layer.name for layer in clf.head.layers if isinstance(layer, keras.layers.Dense)][::-1]
    out = [("head", dense)]
    for block in reversed(BLOCKS):
        names = [n for n in reversed(BLOCKS[block]) if n in clf.conv_layers]
        if names:
            out.append((block, names))
    return out


@dataclass
class SanityResult:
    layer: str
    target: str
    threshold: float
    stages: list[str]  # "original", "head", "block5", ...
    maps: dict[str, list[np.ndarray]]  # method -> one map per stage (original first)
    correlations: dict[str, list[float]]  # method -> Spearman vs the original, one per randomized stage

    @property
    def flagged(self) -> dict[str, bool]:
        """True for a method whose map stays similar (> threshold) at some randomized stage."""
        return {m: max(c) > self.threshold for m, c in self.correlations.items()}

    def summary(self) -> dict:
        return {
            "layer": self.layer,
            "target": self.target,
            "threshold": self.threshold,
            "stages": self.stages[1:],
            "methods": {
                m: {"spearman": dict(zip(self.stages[1:], c)), "flagged": self.flagged[m]}
                for m, c in self.correlations.items()
            },
        }


def sanity_check(
    clf: Classifier,
    image: ImageSource,
    layer: str | None = None,
    methods: Sequence[str] = tuple(METHODS),
    target: str | None = None,
    blocks: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> SanityResult:
    """Maps of each method as the head, then `blocks` conv blocks (default all), are randomized;
    `progress` (done, total, seconds) after each stage, so a page can show the time left."""
    began = time.monotonic()
    layer = layer or default_layer(clf)
    x = clf.to_batch([open_image(image)])
    if target is None:
        target = clf.label(float(sigmoid(clf.logits_of_batch(x)[0])))
    sign, size = target_sign(target), x.shape[1:3]
    plan = stages(clf)
    plan = plan[: 1 + blocks] if blocks is not None else plan
    maps = {m: [METHODS[m](clf.model, layer)(x, sign, size=size)[0][0]] for m in methods}
    copy = copy_classifier(clf)
    for i, (_, names) in enumerate(plan):
        for j, name in enumerate(names):
            randomize(copy.model.get_layer(name), seed + 100 * i + j)
        for m in methods:
            maps[m].append(METHODS[m](copy.model, layer)(x, sign, size=size)[0][0])
        if progress:
            progress(i + 1, len(plan), time.monotonic() - began)
    correlations = {m: [spearman(ms[0], r) for r in ms[1:]] for m, ms in maps.items()}
    return SanityResult(layer, target, THRESHOLD, ["original"] + [s for s, _ in plan], maps, correlations)
