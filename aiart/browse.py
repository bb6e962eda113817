"""Browse a labelled folder: one record per file, filters, sorting, paging, and cached predictions.

The Browse page and `python -m aiart browse` both use these functions, so they show the same files.
Predictions for a whole folder are cached on disk, keyed by the model version and the folder's file
list (path, size, mtime): a second visit, another session or the CLI reads one small JSON file.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps

from aiart import metrics
from aiart.config import CLASS_NAMES, cache_dir
from aiart.data import dataset
from aiart.data.features import Progress
from aiart.data.images import open_image, shrink
from aiart.model.classifier import Classifier

CONFIDENT = 0.75  # a mistake made at least this sure counts as a confident mistake
UNSURE_MARGIN = 0.10  # P(AI) within 0.5 +- this counts as unsure
FILTERS = {
    "all": "All images",
    "mistakes": "Mistakes",
    "confident-mistakes": f"Confident mistakes (≥{CONFIDENT:.0%} sure)",
    "unsure": f"Unsure (P(AI) {0.5 - UNSURE_MARGIN:.0%}–{0.5 + UNSURE_MARGIN:.0%})",
}
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
    predicted: str | None
    correct: bool | None
    error: str | None

    @property
    def confidence(self) -> float | None:
        """How sure the model is of the class it predicted (0.5..1)."""
        return None if self.p_ai is None else sureness(self.p_ai, self.predicted)

    def to_dict(self) -> dict:
        return asdict(self)


def make_records(
    samples: list[dataset.Sample], p: np.ndarray, errors: list[str | None], threshold: float
) -> list[Record]:
    """Join samples, probabilities (NaN = unreadable) and error messages into records."""
    out = []
    for s, prob, err in zip(samples, p, errors):
        if err is not None or prob is None or math.isnan(prob):
            out.append(Record(str(s.path), s.label, s.source, None, None, None, err or "not scored"))
            continue
        predicted = CLASS_NAMES[0] if prob >= threshold else CLASS_NAMES[1]
        out.append(Record(str(s.path), s.label, s.source, float(prob), predicted, predicted == s.label, None))
    return out


def select(
    records: list[Record], kind: str = "all", source: str | None = None, sort: str | None = None
) -> list[Record]:
    """Records matching a filter (see FILTERS) and source, in the filter's order unless `sort` is given.

    Confident mistakes come most confident first, unsure ones nearest 0.5 first; unreadable files
    appear only under "all", and sort after every scored file.
    """
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}; choose from {', '.join(FILTERS)}")
    if sort is not None and sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    rows = [r for r in records if source is None or r.source == source]
    if kind == "mistakes":
        rows = [r for r in rows if r.correct is False]
    elif kind == "confident-mistakes":
        rows = sorted(
            (r for r in rows if r.correct is False and r.confidence >= CONFIDENT), key=lambda r: -r.confidence
        )
    elif kind == "unsure":
        near = (r for r in rows if r.p_ai is not None and abs(r.p_ai - 0.5) <= UNSURE_MARGIN)
        rows = sorted(near, key=lambda r: abs(r.p_ai - 0.5))
    if sort:
        sign = -1.0 if sort.startswith("-") else 1.0
        rows = sorted(rows, key=lambda r: (r.p_ai is None, sign * (r.p_ai or 0.0)))
    return rows


def sources(records: list[Record]) -> list[str]:
    return sorted({r.source for r in records})


def paginate(rows: list, page: int, per_page: int) -> tuple[list, int]:
    """The rows of 1-based `page` (clamped to the valid range) and the number of pages (at least 1)."""
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(page, 1), pages)
    return rows[(page - 1) * per_page : page * per_page], pages


def summary(records: list[Record], threshold: float = 0.5) -> dict:
    """`metrics.summary` over the readable files, plus how many files could not be read."""
    scored = [r for r in records if r.p_ai is not None]
    p = np.array([r.p_ai for r in scored], float)
    y = np.array([int(r.label == CLASS_NAMES[0]) for r in scored], int)
    return {**metrics.summary(p, y, threshold), "unreadable": len(records) - len(scored)}


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


def read_cache(path: Path, samples: list[dataset.Sample]) -> tuple[np.ndarray, list[str | None]] | None:
    """Cached (p, errors) if the file is intact and lists exactly these paths; else None."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw["paths"] != [str(s.path) for s in samples]:
            return None
        p = np.array([np.nan if v is None else v for v in raw["p_ai"]], float)
        errors = list(raw["errors"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (p, errors) if len(p) == len(errors) == len(samples) else None


def write_cache(path: Path, samples: list[dataset.Sample], p: np.ndarray, errors: list[str | None]) -> None:
    from aiart.model.storage import atomic_write

    payload = {
        "paths": [str(s.path) for s in samples],
        "p_ai": [None if math.isnan(v) else float(v) for v in p],
        "errors": errors,
    }
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(payload), encoding="utf-8"))


def predictions(clf: Classifier, root: Path | str, progress: Progress | None = None) -> list[Record]:
    """Records for every labelled file under `root`; computed once per folder state and model version.

    Raises `DatasetError` for a folder that cannot be used.
    """
    from aiart.evaluate import predict_folder

    samples = dataset.scan(root)
    path = cache_file(clf.version, folder_key(samples))
    cached = read_cache(path, samples)
    if cached is not None:
        p, errors = cached
    else:
        computed, p, errors = predict_folder(clf, Path(root), progress)
        if [s.path for s in computed] == [s.path for s in samples]:  # the folder did not change meanwhile
            write_cache(path, samples, p, errors)
        samples = computed
    return make_records(samples, p, errors, clf.threshold)


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
    ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="predicted P(AI)", ylabel="fraction actually AI")
    ax.set_title(f"Reliability (ECE = {metrics.ece(p, y, bins):.3f})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig
