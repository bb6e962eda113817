"""Is this picture softer than nearly every picture of the training pool?

The robustness probes (README) measured that smoothing pushes P(AI) up: before the shipped model
learned from degraded copies, a 2 px blur or a quarter-size round trip left it worse than a coin on
sources it never saw; with them it still costs 10-13 points. A picture softer than nearly all of the
training pool (as stored) is outside what most of it looks like, so the pages say so beside the verdict.

Sharpness is the variance of the Laplacian of the grey picture at the size the model reads it (its
longer side at the input size), a standard focus measure (Pech-Pacheco et al., 2000). A picture is
*soft* below the training pool's own 5th percentile, stored with the model by `train --cross-source`
(`HeadInfo.metrics["sharpness"]`): a property of the pictures, fitted on no label.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from aiart.data.images import ImageError, ImageSource, open_image, resize_longest
from aiart.model.classifier import Classifier

QUANTILE = 0.05
GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma


def sharpness(image: Image.Image, size: int) -> float:
    """Variance of the Laplacian of the grey picture with its longer side at `size`."""
    grey = resize_longest(image, size) @ GREY
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def reference(images: Sequence[ImageSource], size: int, quantile: float = QUANTILE, most: int | None = None) -> dict:
    """The training pool's sharpness: the level below which a picture counts as soft, and the median.
    Pictures that do not decode are left out (training skips them too). `most`: read at most that many,
    evenly spread over `images`, where a session must stay short (the Train page's)."""
    if most is not None and len(images) > most:
        images = [images[i] for i in np.linspace(0, len(images) - 1, most).round().astype(int)]
    values = []
    for item in images:
        try:
            values.append(sharpness(open_image(item), size))
        except ImageError:
            continue
    if not values:
        raise ValueError("no picture could be read to measure the pool's sharpness")
    return {
        "quantile": quantile,
        "soft_below": float(np.quantile(values, quantile)),
        "median": float(np.median(values)),
        "n": len(values),
    }


def is_soft(clf: Classifier, image: Image.Image) -> bool | None:
    """True when `image` is softer than the model's training pool at `QUANTILE`; None for a model
    that stored no reference (one trained before models stored it)."""
    ref = (clf.info.metrics or {}).get("sharpness")
    if not ref:
        return None
    return sharpness(image, clf.input_size) < ref["soft_below"]
