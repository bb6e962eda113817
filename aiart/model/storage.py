"""Saving and loading trained heads: atomic writes, safe loading, shape checks."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import keras

from aiart.config import DEFAULT_HEAD
from aiart.model.backbone import BLOCKS, FILTERS, split_taps, top_block
from aiart.model.classifier import Classifier, HeadInfo, feature_dim, tuned_convs


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
        os.chmod(tmp, 0o644)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def trained_list(path: Path) -> Path:
    """`model.trained.txt`: content hashes of the images a model was trained on, one per line."""
    return Path(path).with_suffix(".trained.txt")


def save_head(head: keras.Model, info: HeadInfo, path: Path, trained_on: Sequence[str] = ()) -> None:
    """`model.keras` plus `model.json` (input size, taps, threshold, training summary, metrics),
    and with `trained_on` the list of its training images' content hashes (never the images), so
    pages can tell images the model has seen from new ones.

    Each file is replaced atomically, and the JSON records the `.keras` file's hash: a save killed
    between the two files is refused on load instead of pairing a head with another's settings.
    """
    path = Path(path)
    # Rebuilt from its config, so uncompiled: `clone_model` would recompile the copy, and Keras would
    # save the Adam slots too, three times the size of the weights.
    clean = keras.Model.from_config(head.get_config())
    clean.set_weights(head.get_weights())
    atomic_write(path, lambda tmp: clean.save(tmp))
    meta = dict(json.loads(info.dumps()), keras_sha256=file_sha256(path))
    text = json.dumps(meta, indent=2, sort_keys=True)
    atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text))
    if trained_on:
        listing = "".join(f"{h}\n" for h in sorted(set(trained_on)))
        atomic_write(trained_list(path), lambda tmp: Path(tmp).write_text(listing))


def tuned_inputs(info: HeadInfo) -> list[tuple]:
    """Input shapes of a fine-tuned head for this input size and taps (checked when loading one)."""
    block = top_block(info.taps)
    below = f"block{int(block[5]) - 1}"
    side = info.input_size // 2 ** (int(block[5]) - 1)
    frozen, _ = split_taps(info.taps)
    return [(None, side, side, FILTERS[below])] + ([(None, feature_dim(frozen))] if frozen else [])


def check_tuned(layers: dict[str, keras.layers.Layer], taps: Sequence[str]) -> None:
    """A fine-tuned head's conv layers must be the tuned block's, with VGG16's kernel shapes."""
    block = top_block(taps)
    channels = FILTERS[f"block{int(block[5]) - 1}"]
    for name in BLOCKS[block]:
        if name not in layers:
            break
        shape = tuple(layers[name].kernel.shape)
        if shape != (3, 3, channels, FILTERS[block]):
            raise ValueError(f"{name} has kernel {shape}, expected {(3, 3, channels, FILTERS[block])}")
        channels = FILTERS[block]
    extra = sorted(set(layers) - set(BLOCKS[block]))
    if extra:
        raise ValueError(f"only {block} can be fine-tuned, found {', '.join(extra)}")


def load_head_checked(path: Path | str, info: HeadInfo) -> keras.Model:
    """Load with `safe_mode=True` and check the shapes fit `info`; `ModelFileError` otherwise."""
    try:
        head = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a model"
        text = str(exc).strip()
        first = text.splitlines()[0].split(". ")[0][:200] if text else type(exc).__name__  # first sentence
        raise ModelFileError(f"not a loadable .keras model ({first})") from None
    tuned = tuned_convs(head)
    try:
        want = [(None, feature_dim(info.taps, info.views, info.moments))] if not tuned else tuned_inputs(info)
    except ValueError as exc:
        raise ModelFileError(f"a fine-tuned model does not fit these features: {exc}") from None
    try:
        shape_in, shape_out = [tuple(t.shape) for t in head.inputs], tuple(head.output_shape)
    except (AttributeError, ValueError, TypeError):  # e.g. a subclassed model without a graph
        shape_in = shape_out = None
    if shape_in != want or shape_out != (None, 1):
        ins = ", ".join(map(str, want))
        raise ModelFileError(f"model maps {shape_in} -> {shape_out}; an aiart head must map {ins} -> (None, 1)")
    if tuned:
        try:
            check_tuned(tuned, info.taps)
        except ValueError as exc:
            raise ModelFileError(f"fine-tuned layers do not fit VGG16: {exc}") from None
    return head


def load_classifier(head_path: Path | str | None = None, precision: str | None = None) -> Classifier:
    """The shipped default model (`weights/head.keras` + `.json`) unless another head is given;
    `precision` as in `Classifier` (default: this CPU's fastest)."""
    head_path = Path(head_path or DEFAULT_HEAD)
    info_path = head_path.with_suffix(".json")
    try:
        info = HeadInfo.load(info_path)
        recorded = json.loads(info_path.read_text()).get("keras_sha256")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{info_path.name} is not an aiart model description ({exc!r:.120})") from None
    if recorded and head_path.is_file() and recorded != file_sha256(head_path):
        raise ModelFileError(f"{head_path.name} does not match {info_path.name} (interrupted save?); save it again")
    clf = Classifier(load_head_checked(head_path, info), info, precision=precision)
    listing = trained_list(head_path)
    if listing.is_file():
        clf.trained_on = frozenset(listing.read_text().split())
    return clf
