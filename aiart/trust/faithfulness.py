"""Deletion and insertion curves (Petsiuk et al., 2018, "RISE", arXiv 1806.07421): is a heatmap faithful?

A faithful map ranks first the regions the model really uses. *Deletion* removes the most
highlighted regions first, in `steps` equal steps, and P(class) should fall fast (low area under
the curve); *insertion* starts from a heavily blurred image and puts the original pixels back,
most highlighted first, and P(class) should rise fast (high area). The same curves for random
region orders are the baseline a map has to beat: a map no better than random explains nothing.

- Regions are the cells of a `grid` x `grid` partition of the model's input, ranked by the map's
  mean per cell (ties broken at random), so maps and the random baseline remove the same blocks.
- Deletion fills removed cells with 0 in VGG16's preprocessed space, i.e. the ImageNet mean colour:
  a flat grey that carries no texture (the model looks at texture statistics).
- Insertion starts from a Gaussian blur of the image (sigma = input size / 16), which keeps the
  colours but removes the texture, so the curve measures what the inserted detail adds.
- P(class) = sigmoid(sign * logit): P(AI) for AI_GENERATED, 1 - P(AI) for NON_AI_GENERATED.
- All perturbed images of one image (every method and random order, both curves, every step) are
  stacked and sent through the model in batches; identical images are computed once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from matplotlib.figure import Figure

from aiart.cam import FAST_METHODS, METHODS
from aiart.config import CLASS_NAMES
from aiart.data.dataset import IMAGE_SUFFIXES, seeded_sample
from aiart.data.images import ImageError, ImageSource, open_image
from aiart.explain import default_layer, target_sign
from aiart.model.classifier import Classifier, sigmoid

STEPS = 8
GRID = 14  # 16-pixel cells at 224: the size of one block5 activation
RANDOM_ORDERS = 3
BATCH = 32

LogitsFn = Callable[[np.ndarray], np.ndarray]


def auc(curve: np.ndarray) -> float:
    """Area under a curve sampled at equal steps of the fraction 0..1 (trapezoids)."""
    curve = np.asarray(curve, float)
    return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))


@dataclass
class Curves:
    """P(class) after each step; index k = k/steps of the regions removed (deletion) or inserted."""

    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def fractions(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, len(self.deletion))

    @property
    def deletion_auc(self) -> float:
        return auc(self.deletion)

    @property
    def insertion_auc(self) -> float:
        return auc(self.insertion)

    def aucs(self) -> dict[str, float]:
        return {"deletion_auc": self.deletion_auc, "insertion_auc": self.insertion_auc}


def cell_order(heatmap: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    """Cell indices (row-major over grid x grid) from most to least highlighted."""
    scores = cv2.resize(heatmap.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA).ravel()
    return np.lexsort((rng.random(scores.size), -scores))


def chosen_cells(order: np.ndarray, steps: int) -> np.ndarray:
    """(steps + 1, cells) bool: after step k, the first round(k / steps * cells) cells of `order`."""
    rank = np.empty(order.size, int)
    rank[order] = np.arange(order.size)
    counts = np.round(np.arange(steps + 1) / steps * order.size).astype(int)
    return rank[None, :] < counts[:, None]


def cell_index(height: int, width: int, grid: int) -> np.ndarray:
    """(height, width) cell number of each pixel: a grid x grid partition, whatever the aspect ratio."""
    rows, cols = np.arange(height) * grid // height, np.arange(width) * grid // width
    return rows[:, None] * grid + cols[None, :]


def insertion_start(x: np.ndarray) -> np.ndarray:
    """The heavily blurred image insertion starts from (linear, so blurring preprocessed pixels is fine)."""
    return cv2.GaussianBlur(x, (0, 0), sigmaX=max(x.shape[:2]) / 16)


def perturbation_curves(
    logits_fn: LogitsFn,
    x: np.ndarray,
    orders: Sequence[np.ndarray],
    sign: float,
    grid: int,
    steps: int,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[Curves]:
    """Deletion and insertion curves of preprocessed image `x` (H, W, 3) for each cell order; `progress`
    (done, total, seconds) after each batch of masked copies, so a page can show the time left."""
    began = time.monotonic()
    cells = np.concatenate([chosen_cells(o, steps) for o in orders])
    kinds = np.repeat([[0], [1]], len(cells), axis=0)  # 0 = deletion, 1 = insertion
    rows, inverse = np.unique(np.hstack([kinds, np.tile(cells, (2, 1))]), axis=0, return_inverse=True)
    pixel_cell = cell_index(*x.shape[:2], grid)
    blurred = insertion_start(x)
    logits = []
    for start in range(0, len(rows), BATCH):
        batch = []
        for row in rows[start : start + BATCH]:
            mask = row[1:].astype(bool)[pixel_cell][..., None]
            batch.append(np.where(mask, 0.0, x) if row[0] == 0 else np.where(mask, x, blurred))
        logits.append(logits_fn(np.stack(batch).astype(np.float32)))
        if progress:
            progress(min(start + BATCH, len(rows)), len(rows), time.monotonic() - began)
    p = sigmoid(sign * np.concatenate(logits))[inverse.ravel()].reshape(2, len(orders), steps + 1)
    return [Curves(p[0, i], p[1, i]) for i in range(len(orders))]


@dataclass
class Faithfulness:
    """Curves of each method's map and of the random baseline (mean of a few random orders)."""

    target: str
    layer: str
    p_class: float  # P(target) of the untouched image (every deletion curve starts there)
    methods: dict[str, Curves]
    random: Curves

    def summary(self) -> dict:
        return {"methods": {m: c.aucs() for m, c in self.methods.items()}, "random": self.random.aucs()}


def evaluate(
    clf: Classifier,
    image: ImageSource,
    layer: str | None = None,
    methods: Sequence[str] = FAST_METHODS,
    target: str | None = None,
    steps: int = STEPS,
    grid: int = GRID,
    random_orders: int = RANDOM_ORDERS,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> Faithfulness:
    """Deletion/insertion curves of each method's map at `layer`; `target` defaults to the model's own verdict."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if steps < 2 or grid < 2 or random_orders < 1:
        raise ValueError("steps and grid must be at least 2, random orders at least 1")
    layer = layer or default_layer(clf)
    x = clf.to_batch([open_image(image)])
    if target is None:
        target = clf.label(float(sigmoid(clf.logits_of_batch(x)[0])))
    sign = target_sign(target)
    size = x.shape[1:3]
    rng = np.random.default_rng(seed)
    orders = [cell_order(METHODS[m](clf.model, layer)(x, sign, size=size)[0][0], grid, rng) for m in methods]
    orders += [rng.permutation(grid * grid) for _ in range(random_orders)]
    curves = perturbation_curves(clf.logits_of_batch, x[0], orders, sign, grid, steps, progress)
    rand = curves[len(methods) :]
    mean = Curves(np.mean([c.deletion for c in rand], 0), np.mean([c.insertion for c in rand], 0))
    return Faithfulness(target, layer, float(curves[0].deletion[0]), dict(zip(methods, curves)), mean)


def image_files(root: Path | str, limit: int | None = None, seed: int = 0) -> list[Path]:
    """Image files under `root` (flat, Kaggle layout or any nesting); a seeded random `limit` of them."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"folder {root} does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images in {root}")
    return seeded_sample(files, limit, seed)


def evaluate_files(
    clf: Classifier,
    files: Sequence[Path],
    progress: Callable[[int, int, float], None] | None = None,
    **kwargs,
) -> tuple[dict, dict[str, str]]:
    """Mean AUCs over the images that decode: `{"n", "methods": {m: aucs}, "random": aucs}`, and errors."""
    results, errors, start = [], {}, time.monotonic()
    for i, path in enumerate(files):
        try:
            results.append(evaluate(clf, path, **kwargs).summary())
        except ImageError as exc:
            errors[str(path)] = str(exc)
        if progress:
            progress(i + 1, len(files), time.monotonic() - start)
    if not results:
        raise ValueError("no image could be decoded")

    def mean(pick: Callable[[dict], dict]) -> dict[str, float]:
        return {k: float(np.mean([pick(r)[k] for r in results])) for k in ("deletion_auc", "insertion_auc")}

    methods = {m: mean(lambda r, m=m: r["methods"][m]) for m in results[0]["methods"]}
    return {"n": len(results), "methods": methods, "random": mean(lambda r: r["random"])}, errors


PRETTY_TARGET = {CLASS_NAMES[0]: "P(AI)", CLASS_NAMES[1]: "P(human)"}


def curves_figure(result: Faithfulness, width: float = 8.0, picture: np.ndarray | None = None) -> Figure:
    """Deletion and insertion panels: one line per method (AUC in the legend), random dashed.

    `picture` (an RGB array, e.g. the heatmap overlay) adds a first panel showing what was ranked.
    """
    fig = Figure(figsize=(width, width * (0.3 if picture is not None else 0.4)), layout="constrained")
    axes = list(fig.subplots(1, 3 if picture is not None else 2))
    if picture is not None:
        first = axes.pop(0)
        first.imshow(picture)
        first.set_title(f"what the map ranks first ({result.layer})", fontsize=10)
        first.axis("off")
    ylabel = PRETTY_TARGET[result.target]
    for ax, kind, better, verb in zip(axes, ("deletion", "insertion"), ("lower", "higher"), ("removed", "restored")):
        for name, curves in result.methods.items():
            curve = getattr(curves, kind)
            ax.plot(curves.fractions, curve, marker="o", ms=3, label=f"{name} (AUC {auc(curve):.2f})")
        rand = getattr(result.random, kind)
        ax.plot(result.random.fractions, rand, "k--", label=f"random (AUC {auc(rand):.2f})")
        ax.set_title(f"{kind}: {better} AUC is better", fontsize=10)
        ax.set_xlabel(f"fraction {verb}, most highlighted first")
        ax.set_ylabel(ylabel)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return fig
