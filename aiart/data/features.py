"""Pooled VGG16 features per image, cached on disk by content hash, input size and taps.

The conv base is frozen, so an image's features never change: Browse, Train, evaluate and the
CLI compute them once (batched) and every later use, in any session or process, is a file read.
Each entry is written atomically; an entry that fails to read is recomputed, never trusted.
The cache is bounded (`AIART_CACHE_MAX_MB`): reads touch an entry, and when the cache grows past
the cap the least recently used entries are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from aiart.config import cache_dir
from aiart.data.images import ImageError, ImageSource, open_image, read_bytes
from aiart.model.classifier import MOMENTS, PLAIN, Classifier, batches
from aiart.model.precision import cache_tag

Progress = Callable[[int, int, float], None]  # done, total, seconds elapsed


def content_hashes(paths: Sequence[Path]) -> list[str | None]:
    """Each file's content hash (None if it cannot be read): the key of a model's list of training images."""
    out: list[str | None] = []
    for path in paths:
        try:
            out.append(content_hash(Path(path).read_bytes()))
        except OSError:
            out.append(None)
    return out


class TimeLeft:
    """Seconds left from a `Progress` stream. Images already cached arrive at once, in the first report
    (elapsed 0), and cost no time: the rate counts only images computed since, or a half-cached folder
    would promise to finish many times too soon."""

    def __init__(self) -> None:
        self.start = 0

    def __call__(self, done: int, total: int, elapsed: float) -> float | None:
        if elapsed == 0.0:
            self.start = done
        computed = done - self.start
        return elapsed / computed * (total - done) if computed > 0 and elapsed > 0 else None


DISK_CAP_BYTES = int(os.environ.get("AIART_CACHE_MAX_MB", "2048")) * 2**20
LOW_WATER = 0.8  # an eviction pass frees down to 80% of the cap, so passes stay rare
STALE_TMP_SECONDS = 3600  # temp files this old belong to a killed writer
_written: dict[Path, int] = {}  # bytes this process wrote per cache base since its last scan
_scan_lock = threading.Lock()
_batch_lock = threading.Lock()  # one feature batch at a time per process; the CPU or GPU is shared anyway


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def keyed(item: ImageSource) -> tuple[str, bytes | Image.Image]:
    """Cache key and decodable payload; file bytes for files, pixels for in-memory images."""
    if isinstance(item, Image.Image):
        return content_hash(item.tobytes() + repr((item.size, item.mode)).encode()), item
    data = read_bytes(item)
    return content_hash(data), data


@dataclass(frozen=True)
class Extractor:
    """What a store caches per image: `run` maps a preprocessed batch to one array per image.
    `spec` names everything the arrays depend on (input size, taps, fine-tuned weights)."""

    spec: str
    input_size: int
    shape: tuple[int, ...]
    dtype: type
    run: Callable[[np.ndarray], np.ndarray]
    keep_aspect: bool = False
    views: int = 1  # passes per picture: batches shrink by it, so a pass holds the same pixels


def feature_extractor(clf: Classifier) -> Extractor:
    """The classifier's pooled feature vector (the head's input)."""
    spec = f"{clf.input_size}:{','.join(clf.info.taps)}"
    if clf.keep_aspect:
        spec += ":longest"
    if clf.backbone_version != "imagenet":  # fine-tuned conv layers give other features
        spec += f":{clf.backbone_version}"
    spec += cache_tag(clf.precision)
    if clf.info.views != PLAIN:
        spec += f":{'+'.join(clf.info.views)}"
    if clf.info.moments != MOMENTS:
        spec += f":{'+'.join(clf.info.moments)}"
    dim = int(clf.features_model.output.shape[-1])
    views = len(clf.info.views)
    return Extractor(spec, clf.input_size, (dim,), np.float32, clf.features_of_batch, clf.keep_aspect, views)


class FeatureStore:
    """Disk cache of per-image arrays (by default the classifier's feature vector), one `.npy` each."""

    def __init__(
        self,
        clf: Classifier,
        root: Path | None = None,
        cap_bytes: int | None = None,
        extractor: Extractor | None = None,
    ):
        self.extractor = extractor or feature_extractor(clf)
        spec = hashlib.sha256(self.extractor.spec.encode()).hexdigest()[:12]
        self.base = Path(root or cache_dir() / "features")
        self.root = self.base / f"{self.extractor.input_size}-{spec}"
        self.cap = DISK_CAP_BYTES if cap_bytes is None else cap_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self.shape = self.extractor.shape

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        try:
            vec = np.load(self.path(key), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if vec.shape != self.shape or not np.all(np.isfinite(vec)):
            return None
        with contextlib.suppress(OSError):  # mark as recently used; eviction may race us, harmlessly
            os.utime(self.path(key))
        return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, vec.astype(self.extractor.dtype), allow_pickle=False)
                size = fh.tell()
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        with _scan_lock:
            if self.base in _written:
                _written[self.base] += size

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, bytes, path) of every entry of every model spec under the cache base.

        Temp files of writers killed mid-write are never entries; stale ones are removed here.
        """
        found, now = [], time.time()
        for path in self.base.glob("*/??/*"):
            try:
                st = path.stat()
                if path.suffix == ".npy":
                    found.append((st.st_mtime, st.st_size, path))
                elif path.suffix == ".tmp" and now - st.st_mtime > STALE_TMP_SECONDS:
                    path.unlink()
            except OSError:  # removed meanwhile by another session or process
                continue
        return found

    def enforce_cap(self) -> int:
        """Evict least recently used entries if the cache is over its cap; returns bytes freed.

        Cheap enough after every `compute()`: the directory is scanned only on a process's first
        call and after it has written another twentieth of the cap (other processes included then).
        """
        with _scan_lock:
            if self.base in _written and _written[self.base] < self.cap // 20:
                return 0
            _written[self.base] = 0
            found = self.entries()
            before = total = sum(size for _, size, _ in found)
            if total <= self.cap:
                return 0
            for _, size, path in sorted(found):
                if total <= self.cap * LOW_WATER:
                    break
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                total -= size
            return before - total

    def compute(
        self, items: Sequence[ImageSource], progress: Progress | None = None, batch_size: int = 16
    ) -> tuple[np.ndarray, list[str | None]]:
        """(N, *shape) arrays (NaN for bad files) and a per-item error message or None."""
        feats = np.full((len(items), *self.shape), np.nan, self.extractor.dtype)
        errors: list[str | None] = [None] * len(items)
        todo: list[tuple[int, str, ImageSource]] = []  # the item, not its bytes: a folder is not held in memory
        for i, item in enumerate(items):
            try:
                key, _ = keyed(item)
                cached = self.get(key)
                if cached is not None:
                    feats[i] = cached
                else:
                    todo.append((i, key, item))
            except ImageError as exc:
                errors[i] = str(exc)
        start, done = time.monotonic(), len(items) - len(todo)
        if progress:
            progress(done, len(items), 0.0)
        for b in range(0, len(todo), batch_size):
            with _batch_lock:  # sessions computing the same folder take turns and share each other's results
                chunk, images = [], []
                for i, key, item in todo[b : b + batch_size]:
                    cached = self.get(key)  # computed by another session meanwhile?
                    if cached is not None:
                        feats[i] = cached
                        continue
                    try:
                        key, data = keyed(item)  # hash what is decoded: a file edited meanwhile gets its own key
                        images.append(open_image(data))
                        chunk.append((i, key))
                    except ImageError as exc:
                        errors[i] = str(exc)
                ex = self.extractor
                for idx, batch in batches(images, ex.input_size, ex.keep_aspect, batch_size, ex.views):
                    for j, vec in zip(idx, ex.run(batch)):
                        i, key = chunk[j]
                        feats[i] = vec
                        self.put(key, vec)
            done += len(todo[b : b + batch_size])
            if progress:
                progress(done, len(items), time.monotonic() - start)
        self.enforce_cap()
        return feats, errors
