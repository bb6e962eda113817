"""Pooled VGG16 features per image, cached on disk by content hash, input size and taps.

The conv base is frozen, so an image's features never change: Browse, Train, evaluate and the
CLI compute them once (batched) and every later use, in any session or process, is a file read.
Each entry is written atomically; an entry that fails to read is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from aiart.config import cache_dir
from aiart.images import ImageError, ImageSource, open_image, read_bytes
from aiart.model import Classifier, to_batch

Progress = Callable[[int, int, float], None]  # done, total, seconds elapsed
DISK_CAP_BYTES = int(os.environ.get("AIART_CACHE_MAX_MB", "2048")) * 2**20


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def keyed(item: ImageSource) -> tuple[str, bytes | Image.Image]:
    """Cache key and decodable payload; file bytes for files, pixels for in-memory images."""
    if isinstance(item, Image.Image):
        return content_hash(item.tobytes() + repr((item.size, item.mode)).encode()), item
    data = read_bytes(item)
    return content_hash(data), data


class FeatureStore:
    """Disk cache of the classifier's feature vectors, one small `.npy` per image."""

    def __init__(self, clf: Classifier, root: Path | None = None):
        self.clf = clf
        spec = hashlib.sha256(f"{clf.input_size}:{','.join(clf.info.taps)}".encode()).hexdigest()[:12]
        self.root = (root or cache_dir() / "features") / f"{clf.input_size}-{spec}"
        self.root.mkdir(parents=True, exist_ok=True)
        self.dim = int(clf.features_model.output.shape[-1])

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            vec = np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if vec.shape != (self.dim,) or not np.all(np.isfinite(vec)):
            return None
        return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, vec.astype(np.float32), allow_pickle=False)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def compute(
        self, items: Sequence[ImageSource], progress: Progress | None = None, batch_size: int = 16
    ) -> tuple[np.ndarray, list[str | None]]:
        """(N, dim) features (NaN rows for bad files) and a per-item error message or None."""
        feats = np.full((len(items), self.dim), np.nan, np.float32)
        errors: list[str | None] = [None] * len(items)
        todo: list[tuple[int, str, object]] = []
        for i, item in enumerate(items):
            try:
                key, data = keyed(item)
                cached = self.get(key)
                if cached is not None:
                    feats[i] = cached
                else:
                    todo.append((i, key, data))
            except ImageError as exc:
                errors[i] = str(exc)
        start, done = time.monotonic(), len(items) - len(todo)
        if progress:
            progress(done, len(items), 0.0)
        for b in range(0, len(todo), batch_size):
            chunk, images = [], []
            for i, key, data in todo[b : b + batch_size]:
                try:
                    images.append(open_image(data))
                    chunk.append((i, key))
                except ImageError as exc:
                    errors[i] = str(exc)
            if images:
                out = self.clf.features_of_batch(to_batch(images, self.clf.input_size))
                for (i, key), vec in zip(chunk, out):
                    feats[i] = vec
                    self.put(key, vec)
            done += len(todo[b : b + batch_size])
            if progress:
                progress(done, len(items), time.monotonic() - start)
        return feats, errors
