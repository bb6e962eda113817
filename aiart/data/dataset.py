"""Find labelled images in a folder: the Kaggle layout `<root>/<CLASS>/*`, or a `manifest.csv`.

Paths from a manifest are resolved inside the root; anything that would escape it is skipped.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiart.config import CLASS_NAMES

T = TypeVar("T")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


class DatasetError(ValueError):
    """A data folder that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str  # one of CLASS_NAMES
    source: str  # source repository / generator group, for source-held-out splits
    generator: str = ""  # the manifest's generator (AI) or artist (human), when it has one
    kind: str = ""  # the manifest's kind of image (painting, photo, pixel, ...)

    @property
    def y(self) -> int:
        """1 for AI_GENERATED, 0 for NON_AI_GENERATED."""
        return int(self.label == CLASS_NAMES[0])


def inside(root: Path, rel: str) -> Path | None:
    """`root/rel` if it stays inside `root` (no `..`, no absolute paths), else None."""
    try:
        candidate = (root / rel).resolve()
    except (OSError, ValueError):  # a NUL byte, a symlink loop
        return None
    return candidate if candidate.is_relative_to(root.resolve()) else None


def folder_inside(root: Path, text: str) -> Path:
    """The folder `text` names (absolute, or relative to `root`) if it lies inside `root` once links are
    followed; else `DatasetError`. A folder box must never read the rest of the server."""
    found = inside(root, str(Path(text).expanduser()))
    if found is None:
        raise DatasetError(
            f"{text} is outside the data folder ({root}): the app reads pictures only from folders inside it "
            "(the teacher sets it with AIART_DATA)"
        )
    return found


def from_manifest(root: Path) -> list[Sample]:
    samples = []
    try:
        with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                path = inside(root, row.get("path") or "")
                if path is None or row.get("label") not in CLASS_NAMES or not os.path.isfile(path):
                    continue
                samples.append(
                    Sample(
                        path,
                        row["label"],
                        row.get("source_repo") or "unknown",
                        row.get("generator_or_artist") or "",
                        row.get("kind") or "",
                    )
                )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{root / 'manifest.csv'} is not a readable UTF-8 CSV file ({exc})") from None
    return samples


def from_folders(root: Path) -> list[Sample]:
    """Kaggle layout; the first sub-folder under a class (if any) is taken as the source."""
    samples = []
    for label in CLASS_NAMES:
        base = root / label
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and inside(root, str(path.relative_to(root))):
                rel = path.relative_to(base)
                source = rel.parts[0] if len(rel.parts) > 1 else f"{label.lower()}/(folder)"
                samples.append(Sample(path, label, source))
    return samples


def scan(root: Path | str) -> list[Sample]:
    """Every labelled image under `root`; raises `DatasetError` for a folder that cannot be used."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"data folder {root} does not exist")
    samples = from_manifest(root) if (root / "manifest.csv").is_file() else from_folders(root)
    if not samples:
        raise DatasetError(
            f"no images found in {root}: expected sub-folders {' and '.join(CLASS_NAMES)} holding images"
        )
    present = {s.label for s in samples}
    if len(present) < 2:
        missing = (set(CLASS_NAMES) - present).pop()
        raise DatasetError(f"only one class in {root}: add images under {missing}/ to compare the two")
    return samples


def seeded_sample(items: Sequence[T], limit: int | None, seed: int = 0) -> list[T]:
    """A seeded random `limit` of `items` in their own order (all of them without a limit), so a
    check run twice on one folder sees the same pictures."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    if limit is None or limit >= len(items):
        return list(items)
    chosen = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in chosen]
