"""Robustness probes: does P(AI) survive what happens to images on the way to the classroom?

Images are re-saved as JPEG, resized, cropped, blurred and screenshotted before anyone uploads
them. A verdict that flips under such everyday changes is a verdict about the file's history, not
about how the artwork was made. Each probe is applied to the decoded original at its own
resolution, and the original plus every variant go through the model in one batch.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from aiart.data.dataset import Sample
from aiart.data.images import ImageError, ImageSource, open_image
from aiart.model.classifier import Classifier, sigmoid

Probe = Callable[[Image.Image], Image.Image]


def reencode(img: Image.Image, fmt: str, **options) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return open_image(buf.getvalue())


def jpeg(quality: int) -> Probe:
    return lambda img: reencode(img, "JPEG", quality=quality)


def scaled(img: Image.Image, factor: float, resample: Image.Resampling) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, round(w * factor)), max(1, round(h * factor))), resample)


def down_up(factor: float) -> Probe:
    """Shrink (Lanczos) and enlarge back (bicubic): detail lost, size unchanged."""
    return lambda img: scaled(img, factor, Image.Resampling.LANCZOS).resize(img.size, Image.Resampling.BICUBIC)


def center_crop(fraction: float) -> Probe:
    def crop(img: Image.Image) -> Image.Image:
        w, h = img.size
        cw, ch = max(1, round(w * fraction)), max(1, round(h * fraction))
        left, top = (w - cw) // 2, (h - ch) // 2
        return img.crop((left, top, left + cw, top + ch))

    return crop


def blur(radius: float) -> Probe:
    return lambda img: img.filter(ImageFilter.GaussianBlur(radius))


def screenshot(img: Image.Image) -> Image.Image:
    """What a screen capture of the image shown at 2/3 size gives: box-filtered pixels, saved as PNG."""
    return reencode(scaled(img, 2 / 3, Image.Resampling.BOX), "PNG")


PROBES: dict[str, tuple[str, Probe]] = {
    "jpeg90": ("JPEG re-compression, quality 90", jpeg(90)),
    "jpeg70": ("JPEG re-compression, quality 70", jpeg(70)),
    "jpeg50": ("JPEG re-compression, quality 50", jpeg(50)),
    "resize0.5": ("shrunk to 0.5x and back up", down_up(0.5)),
    "resize0.25": ("shrunk to 0.25x and back up", down_up(0.25)),
    "crop80": ("center crop, 80% of each side", center_crop(0.8)),
    "crop60": ("center crop, 60% of each side", center_crop(0.6)),
    "blur1": ("Gaussian blur, radius 1 px", blur(1)),
    "blur2": ("Gaussian blur, radius 2 px", blur(2)),
    "screenshot": ("screenshot: shown at 2/3 size, saved as PNG", screenshot),
}


@dataclass
class ProbeRow:
    probe: str
    description: str
    p_ai: float
    change: float  # p_ai - P(AI) of the original
    flips: bool  # the verdict (`Classifier.verdict`, "not sure" included) differs from the original's


@dataclass
class Robustness:
    p_ai: float  # the original's
    label: str
    rows: list[ProbeRow]

    @property
    def flips(self) -> int:
        return sum(r.flips for r in self.rows)

    def summary(self) -> dict:
        return {"p_ai": self.p_ai, "label": self.label, "probes": [r.__dict__ for r in self.rows]}


def probe(clf: Classifier, image: ImageSource) -> Robustness:
    """P(AI) of the image and of each probe's variant (one forward pass for all of them)."""
    img = open_image(image)
    variants = [img] + [fn(img) for _, fn in PROBES.values()]
    p = sigmoid(clf.logits_of_images(variants))
    p0, label = float(p[0]), clf.verdict(float(p[0]))
    rows = [
        ProbeRow(name, text, float(q), float(q) - p0, clf.verdict(float(q)) != label)
        for (name, (text, _)), q in zip(PROBES.items(), p[1:])
    ]
    return Robustness(p0, label, rows)


def folder_scores(
    clf: Classifier, samples: Sequence[Sample], progress: Callable[[int, int, float], None] | None = None
) -> dict:
    """How a labelled folder fares under each probe: accuracy at the model's threshold, the share of
    verdicts ("not sure" included) that change, and the mean change of P(AI), the original first.

    What a class should expect when its pictures were re-saved or screenshotted on the way in: one
    picture's probes tell a story, a folder's tell how often."""
    began, rows, errors = time.monotonic(), [], {}
    for i, s in enumerate(samples):
        try:
            res = probe(clf, s.path)
        except ImageError as exc:
            errors[str(s.path)] = str(exc)
        else:
            rows.append((s.y, [res.p_ai, *(r.p_ai for r in res.rows)], [False, *(r.flips for r in res.rows)]))
        if progress:
            progress(i + 1, len(samples), time.monotonic() - began)
    if not rows:
        raise ImageError("none of the images could be read")
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])  # (images, 1 + probes)
    changed = np.array([r[2] for r in rows])
    right = (p >= clf.threshold) == y[:, None].astype(bool)
    names = ["original", *PROBES]
    texts = ["as stored", *(text for text, _ in PROBES.values())]
    scores = {
        name: {
            "description": text,
            "accuracy": float(right[:, j].mean()),
            "changed": float(changed[:, j].mean()),
            "mean_change": float((p[:, j] - p[:, 0]).mean()),
        }
        for j, (name, text) in enumerate(zip(names, texts))
    }
    return {"n": len(rows), "probes": scores, "errors": errors}
