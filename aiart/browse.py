"""Browse a labelled folder: one record per file, filters, sorting, paging, and cached predictions.

The Browse page and `python -m aiart browse` both use these functions, so they show the same files.
Predictions for a whole folder are cached on disk, keyed by the model version and the folder's file
list (path, size, mtime): a second visit, another session or the CLI reads one small JSON file.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from aiart import metrics
from aiart.config import CLASS_NAMES, UNSURE, cache_dir
from aiart.data import dataset
from aiart.data.features import Progress, content_hashes
from aiart.data.images import ImageError, open_image, shrink
from aiart.model.classifier import Classifier

CONFIDENT = 0.75  # a mistake made at least this sure counts as a confident mistake
FILTERS = {
    "all": "All images",
    "mistakes": "Mistakes",
    "confident-mistakes": f"Confident mistakes (≥{CONFIDENT:.0%} sure)",
    "unsure": "Not sure",
}
SECONDS_PER_IMAGE = 0.25  # VGG16 features of one new 224 px image on a busy 2-core server (2303 images: ~8 min)
SORTS = {"p_ai": "P(AI) low → high", "-p_ai": "P(AI) high → low"}


def sureness(p_ai: float, label: str) -> float:
    """How sure the model is of the class it chose: P(AI) for AI, 1 - P(AI) for human (0.5..1)."""
    return p_ai if label == CLASS_NAMES[0] else 1.0 - p_ai


@dataclass(frozen=True)
class Record:
    """One file of the folder with the model's verdict; `p_ai` is None when the file is unreadable."""

    path: str
    label: str
    source: str
    p_ai: float | None
    predicted: str | None  # the model's verdict (`Classifier.verdict`): a class, or UNSURE inside its band
    correct: bool | None  # None when unreadable or "not sure": only a verdict can be a mistake
    error: str | None
    digest: str | None = None  # content hash of the file, to tell images the model trained on
    generator: str = ""  # the manifest's generator or artist, when it names one

    @property
    def confidence(self) -> float | None:
        """How sure the model is of the class it predicted (0.5..1)."""
        return None if self.p_ai is None or self.unsure else sureness(self.p_ai, self.predicted)

    @property
    def unsure(self) -> bool:
        return self.predicted == UNSURE

    def to_dict(self) -> dict:
        return asdict(self)


def make_records(
    samples: list[dataset.Sample],
    p: np.ndarray,
    errors: list[str | None],
    digests: list[str | None],
    verdict: Callable[[float], str],
) -> list[Record]:
    """Join samples, probabilities (NaN = unreadable), error messages and content hashes into records;
    `verdict` is the model's own (`Classifier.verdict`), so "not sure" means here what it means everywhere."""
    out = []
    for s, prob, err, digest in zip(samples, p, errors, digests):
        if err is not None or prob is None or math.isnan(prob):
            out.append(
                Record(str(s.path), s.label, s.source, None, None, None, err or "not scored", digest, s.generator)
            )
            continue
        predicted = verdict(float(prob))
        correct = None if predicted == UNSURE else predicted == s.label
        out.append(Record(str(s.path), s.label, s.source, float(prob), predicted, correct, None, digest, s.generator))
    return out


def file_digests(samples: list[dataset.Sample]) -> list[str | None]:
    return content_hashes([s.path for s in samples])


def split_seen(records: list[Record], trained_on: frozenset[str]) -> tuple[list[Record], list[Record]]:
    """(images the model never trained on, images it did): metrics on the second flatter the model."""
    seen = [r for r in records if r.digest in trained_on]
    return [r for r in records if r.digest not in trained_on], seen


def select(
    records: list[Record],
    kind: str = "all",
    source: str | None = None,
    sort: str | None = None,
    faces: Mapping[str, int | None] | None = None,
) -> list[Record]:
    """Records matching a filter (see FILTERS) and source, in the filter's order unless `sort` is given;
    with `faces` (`close_up_faces`), only the pictures showing a close-up face.

    Confident mistakes come most confident first, "not sure" ones nearest 0.5 first; unreadable files
    appear only under "all", and sort after every scored file.
    """
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}; choose from {', '.join(FILTERS)}")
    if sort is not None and sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    rows = [r for r in records if source is None or r.source == source]
    if faces is not None:
        rows = [r for r in rows if faces.get(r.path)]
    if kind == "mistakes":
        rows = [r for r in rows if r.correct is False]
    elif kind == "confident-mistakes":
        rows = sorted(
            (r for r in rows if r.correct is False and r.confidence >= CONFIDENT), key=lambda r: -r.confidence
        )
    elif kind == "unsure":
        rows = sorted((r for r in rows if r.unsure), key=lambda r: abs(r.p_ai - 0.5))
    if sort:
        sign = -1.0 if sort.startswith("-") else 1.0
        rows = sorted(rows, key=lambda r: (r.p_ai is None, sign * (r.p_ai or 0.0)))
    return rows


def sources(records: list[Record]) -> list[str]:
    return sorted({r.source for r in records})


def source_names(records: list[Record], width: int = 60) -> dict[str, str]:
    """A readable name per source: its most common generator or artist (from the manifest) and the
    source itself, e.g. 'Midjourney v6 · user/repo'; just the source when the manifest names none."""
    names = {}
    for source in sources(records):
        counts: dict[str, int] = {}
        for r in records:
            if r.source == source and r.generator:
                counts[r.generator] = counts.get(r.generator, 0) + 1
        who = max(counts, key=counts.get).split(" (")[0] if counts else ""
        label = f"{who} · {source}" if who and who != source else source
        names[source] = label if len(label) <= width else label[: width - 1] + "…"
    return names


def paginate(rows: list, page: int, per_page: int) -> tuple[list, int]:
    """The rows of 1-based `page` (clamped to the valid range) and the number of pages (at least 1)."""
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(page, 1), pages)
    return rows[(page - 1) * per_page : page * per_page], pages


def summary(records: list[Record], threshold: float = 0.5) -> dict:
    """`metrics.summary` over the readable files (P(AI) at `threshold`, for the teacher's details), plus the
    verdicts as shown: `right`, `wrong` and `not_sure` counts, `verdicts` (true label -> said AI / said
    human / not sure) and how many files could not be read."""
    scored = [r for r in records if r.p_ai is not None]
    p = np.array([r.p_ai for r in scored], float)
    y = np.array([int(r.label == CLASS_NAMES[0]) for r in scored], int)
    said = (*CLASS_NAMES, UNSURE)
    table = {c: {s: sum(r.label == c and r.predicted == s for r in scored) for s in said} for c in CLASS_NAMES}
    return {
        **metrics.summary(p, y, threshold),
        "right": sum(r.correct is True for r in scored),
        "wrong": sum(r.correct is False for r in scored),
        "not_sure": sum(r.unsure for r in scored),
        "verdicts": table,
        "unreadable": len(records) - len(scored),
    }


# -- disk cache of a folder's predictions -------------------------------------------------------
def folder_key(samples: list[dataset.Sample]) -> str:
    """Hash of every file's path, label, source, size and mtime: changes whenever the folder does."""
    digest = hashlib.sha256()
    for s in sorted(samples, key=lambda s: str(s.path)):
        try:
            st = s.path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (-1, -1)
        digest.update(json.dumps([str(s.path), s.label, s.source, *stamp]).encode())
    return digest.hexdigest()[:32]


def cache_file(version: str, key: str) -> Path:
    return cache_dir() / "predictions" / version / f"{key}.json"


def read_cache(path: Path, samples: list[dataset.Sample]) -> tuple[np.ndarray, list[str | None], list] | None:
    """Cached (p, errors, content hashes) if the file is intact and lists exactly these paths; else None.
    A cache written before content hashes were kept gets them now (reading files is cheap; scoring is not)."""
    raw = read_folder_json(path, samples)
    if raw is None:
        return None
    try:
        p = np.array([np.nan if v is None else v for v in raw["p_ai"]], float)
        errors = list(raw["errors"])
        digests = list(raw.get("digests") or file_digests(samples))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (p, errors, digests) if len(p) == len(errors) == len(digests) == len(samples) else None


def write_cache(
    path: Path, samples: list[dataset.Sample], p: np.ndarray, errors: list[str | None], digests: list | None = None
) -> None:
    write_folder_json(
        path,
        samples,
        p_ai=[None if math.isnan(v) else float(v) for v in p],
        errors=errors,
        digests=digests if digests is not None else file_digests(samples),
    )


def read_folder_json(path: Path, samples: list[dataset.Sample]) -> dict | None:
    """A folder cache's fields if the file is intact and lists exactly these paths, else None."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return raw if raw["paths"] == [str(s.path) for s in samples] else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_folder_json(path: Path, samples: list[dataset.Sample], **fields) -> None:
    """One JSON file per folder state: the paths, then a value per path in each field (atomic)."""
    from aiart.model.storage import atomic_write

    payload = json.dumps({"paths": [str(s.path) for s in samples], **fields})
    atomic_write(path, lambda tmp: Path(tmp).write_text(payload, encoding="utf-8"))


def cached_predictions(clf: Classifier, root: Path | str) -> list[Record] | None:
    """Records from the disk cache when this folder state was scored by this model before, else None:
    a page can then open at once, or offer to compute (`predictions`) instead of starting unasked."""
    samples = dataset.scan(root)
    cached = read_cache(cache_file(clf.version, folder_key(samples)), samples)
    return None if cached is None else make_records(samples, *cached, clf.verdict)


def predictions(clf: Classifier, root: Path | str, progress: Progress | None = None) -> list[Record]:
    """Records for every labelled file under `root`; computed once per folder state and model version.

    Raises `DatasetError` for a folder that cannot be used.
    """
    from aiart.evaluate import predict_folder

    samples = dataset.scan(root)
    path = cache_file(clf.version, folder_key(samples))
    cached = read_cache(path, samples)
    if cached is None:
        computed, p, errors = predict_folder(clf, Path(root), progress)
        digests = file_digests(computed)
        if [s.path for s in computed] == [s.path for s in samples]:  # the folder did not change meanwhile
            write_cache(path, computed, p, errors, digests)
        cached, samples = (p, errors, digests), computed
    return make_records(samples, *cached, clf.verdict)


def close_up_faces(root: Path | str, progress: Progress | None = None) -> dict[str, int | None]:
    """path -> close-up faces (`aiart.trust.faces`) of every labelled file under `root`, None when it does
    not decode. The model leans towards AI on faces (README, *Faces*): this lets a class see how it does
    on them. Cached on disk per folder state, for any model (the detector reads no verdict)."""
    from aiart.trust.faces import close_up_faces as detect

    samples = dataset.scan(root)
    paths = [str(s.path) for s in samples]
    path = cache_dir() / "faces" / f"{folder_key(samples)}.json"
    raw = read_folder_json(path, samples)
    if raw is not None and isinstance(raw.get("faces"), list) and len(raw["faces"]) == len(paths):
        return dict(zip(paths, raw["faces"]))
    found: list[int | None] = []
    began = time.monotonic()
    for i, s in enumerate(samples):
        try:
            found.append(len(detect(open_image(s.path))))
        except ImageError:
            found.append(None)
        if progress:
            progress(i + 1, len(samples), time.monotonic() - began)
    write_folder_json(path, samples, faces=found)
    return dict(zip(paths, found))


def overview(samples: list[dataset.Sample]) -> dict:
    """What a folder holds before anything is computed: images per class and per source."""
    per_class = {c: sum(s.label == c for s in samples) for c in CLASS_NAMES}
    per_source: dict[str, int] = {}
    for s in samples:
        per_source[s.source] = per_source.get(s.source, 0) + 1
    return {"n": len(samples), "per_class": per_class, "per_source": per_source}


def minutes_to_score(n: int, input_size: int = 224) -> int:
    """A whole-minute estimate for scoring `n` new images on this kind of server (at least 1); the
    work grows with the pixels the model reads (448 px: about 4x; here about 1 s per image)."""
    return max(1, math.ceil(n * SECONDS_PER_IMAGE * (input_size / 224) ** 2 / 60))


# -- pictures -----------------------------------------------------------------------------------
def tile_image(path: Path | str, side: int = 256, background: tuple[int, int, int] = (243, 240, 250)) -> np.ndarray:
    """A square thumbnail, letterboxed (never stretched); raises `ImageError` for a bad file."""
    img = shrink(open_image(Path(path)), 2 * side)
    return np.asarray(ImageOps.pad(img, (side, side), Image.Resampling.LANCZOS, color=background))


def reliability_figure(p: np.ndarray, y: np.ndarray, bins: int = 10) -> Figure:
    """Observed fraction of AI images per bin of P(AI) against the diagonal, titled with the ECE."""
    rows = metrics.reliability(p, y, bins)
    fig = Figure(figsize=(4.4, 3.6), layout="constrained")
    ax = fig.subplots()
    filled = [r for r in rows if r["n"]]
    ax.bar(
        [r["lo"] for r in filled],
        [r["frac_ai"] for r in filled],
        width=1 / bins,
        align="edge",
        color="#6c3fc5",
        alpha=0.75,
        edgecolor="white",
        label="observed fraction AI",
    )
    for r in filled:
        ax.annotate(str(r["n"]), ((r["lo"] + r["hi"]) / 2, r["frac_ai"]), ha="center", va="bottom", fontsize=7)
    ax.plot([0, 1], [0, 1], "--", color="#888888", label="perfectly calibrated")
    ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="AI score (P(AI))", ylabel="share actually AI")
    ax.set_title(f"Reliability (calibration error, ECE = {metrics.ece(p, y, bins):.1%})", fontsize=10)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)  # below the axes, off the bars
    return fig
