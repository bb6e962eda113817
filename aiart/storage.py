"""Saving and loading trained heads: atomic writes, safe loading, shape checks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras

from aiart.config import DEFAULT_HEAD
from aiart.model import Classifier, HeadInfo, feature_dim


class ModelFileError(ValueError):
    """An uploaded or saved model that cannot be used; one line for users."""


def atomic_write(path: Path, write) -> None:
    """`write(tmp_path)` then `os.replace`: a kill mid-save leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_head(head: keras.Model, info: HeadInfo, path: Path) -> None:
    """`model.keras` plus `model.json` (input size, taps, threshold, training summary, metrics)."""
    path = Path(path)
    atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(info.dumps()))
    atomic_write(path, lambda tmp: head.save(tmp))


def load_head_checked(path: Path | str, info: HeadInfo) -> keras.Model:
    """Load with `safe_mode=True` and check the shapes fit `info`; `ModelFileError` otherwise."""
    try:
        head = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a model"
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"not a loadable .keras model ({first})") from None
    want = feature_dim(info.taps)
    shape_in, shape_out = tuple(head.input_shape), tuple(head.output_shape)
    if shape_in != (None, want) or shape_out != (None, 1):
        raise ModelFileError(
            f"model maps {shape_in} -> {shape_out}; an aiart head must map (None, {want}) -> (None, 1)"
        )
    return head


def load_classifier(head_path: Path | str | None = None) -> Classifier:
    """The shipped default model (`weights/head.keras` + `.json`) unless another head is given."""
    head_path = Path(head_path or DEFAULT_HEAD)
    info = HeadInfo.load(head_path.with_suffix(".json"))
    return Classifier(load_head_checked(head_path, info), info)
