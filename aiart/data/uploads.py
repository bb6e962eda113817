"""Images uploaded per class (files or zip archives) -> labelled samples in a private temp folder.

Safe by construction: every file is written under a name we make (a counter plus a cleaned stem),
so no archive entry can choose where it lands; entries are read with a byte cap (the header's
size is not trusted), archives are never nested, and counts and total bytes are bounded. Anything
that is not a decodable image is reported by name with a one-line reason and left out.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiart.config import CLASS_NAMES
from aiart.data.dataset import IMAGE_SUFFIXES, Sample, inside
from aiart.data.images import MAX_BYTES, ImageError, open_image

MAX_FILES = 3000  # images per upload set, all classes together
MAX_TOTAL_BYTES = 600 * 2**20  # bytes written per upload set
SHORT = {"AI_GENERATED": "AI", "NON_AI_GENERATED": "human"}


@dataclass
class UploadSet:
    """Samples written under `root`; the folder lives as long as this object (then it is removed)."""

    samples: list[Sample]
    problems: list[str]
    root: Path
    _tmp: tempfile.TemporaryDirectory | None = None


def clean_stem(name: str) -> str:
    stem = PurePosixPath(name.replace("\\", "/")).stem
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:40] or "image"


def is_zip(name: str) -> bool:
    """By name only: a .docx or .keras is a zip too, and should be reported as "not an image"."""
    return name.lower().endswith(".zip")


def zip_members(name: str, data: bytes, problems: list[str]) -> Iterable[tuple[str, bytes]]:
    """(entry name, bytes) of the archive's files, each read with a cap; problems are appended."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        problems.append(f"{name}: not a valid zip archive")
        return
    with archive:
        for info in archive.infolist():
            entry = info.filename
            base = PurePosixPath(entry.replace("\\", "/")).name
            if info.is_dir() or entry.startswith("__MACOSX/") or base.startswith("."):
                continue
            label = f"{name}/{entry}"
            if is_zip(entry):
                problems.append(f"{label}: archives inside archives are not opened")
                continue
            try:
                with archive.open(info) as fh:
                    payload = fh.read(MAX_BYTES + 1)
            except (RuntimeError, NotImplementedError, zipfile.BadZipFile, OSError, EOFError) as exc:
                problems.append(f"{label}: cannot be extracted ({str(exc).splitlines()[0][:80] or type(exc).__name__})")
                continue
            yield label, payload  # may be MAX_BYTES + 1 long: the caller refuses it and counts the bytes


def extract(uploads: Mapping[str, Iterable[tuple[str, bytes]]], root: Path | None = None) -> UploadSet:
    """Write the uploaded images of each class (label -> [(file name, bytes)]) as samples.

    Without `root` a private temp folder is made and removed when the `UploadSet` is collected.
    """
    tmp = None if root is not None else tempfile.TemporaryDirectory(prefix="aiart-upload-")
    root = Path(root if root is not None else tmp.name)
    problems: list[str] = []
    samples: list[Sample] = []
    count = read = 0
    full = False
    for label, files in uploads.items():
        if label not in CLASS_NAMES:
            raise ValueError(f"unknown class {label!r}; expected one of {CLASS_NAMES}")
        (root / label).mkdir(parents=True, exist_ok=True)
        paths, origins = [], []
        for name, data in [] if full else files:
            members = zip_members(name, data, problems) if is_zip(name) else [(name, data)]
            origin = name if is_zip(name) else "files"
            for member, payload in members:
                read += len(payload)  # every byte decompressed counts, kept or not: bounds a zip bomb's work
                if count >= MAX_FILES or read > MAX_TOTAL_BYTES:
                    problems.append(
                        f"{member} and any later files: over the upload limit ({MAX_FILES} images, "
                        f"{MAX_TOTAL_BYTES // 2**20} MB), skipped"
                    )
                    full = True
                    break
                if len(payload) > MAX_BYTES:
                    problems.append(f"{member}: larger than {MAX_BYTES // 2**20} MB, skipped")
                    continue
                try:
                    open_image(payload)
                except ImageError as exc:
                    problems.append(f"{member}: {exc}")
                    continue
                suffix = PurePosixPath(member).suffix.lower()
                rel = f"{label}/{count:05d}-{clean_stem(member)}{suffix if suffix in IMAGE_SUFFIXES else '.img'}"
                target = inside(root, rel)
                if target is None:  # cannot happen with the names above; kept as a hard guarantee
                    problems.append(f"{member}: unsafe name, skipped")
                    continue
                target.write_bytes(payload)
                paths.append(target)
                origins.append(origin)
                count += 1
            if full:
                break
        samples += [Sample(p, label, f"{SHORT[label]}: {o}") for p, o in zip(paths, origins)]
    return UploadSet(samples, problems, root, tmp)


def split_by_class(name: str, data: bytes, problems: list[str]) -> dict[str, list[tuple[str, bytes]]]:
    """A labelled zip (folders AI_GENERATED/ and NON_AI_GENERATED/ anywhere inside) as label -> images,
    ready for `extract`; entries outside both folders are reported and left out."""
    by_class: dict[str, list[tuple[str, bytes]]] = {label: [] for label in CLASS_NAMES}
    for member, payload in zip_members(name, data, problems):
        parts = {p.upper() for p in PurePosixPath(member.replace("\\", "/")).parts[:-1]}
        labels = [label for label in CLASS_NAMES if label in parts]
        if len(labels) == 1:
            by_class[labels[0]].append((member, payload))
        else:
            problems.append(f"{member}: not inside an AI_GENERATED/ or NON_AI_GENERATED/ folder, skipped")
    return by_class
