"""Shared fixtures: a tiny conv model for CAM tests, images made in the test, a temp cache."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Weights conversion and feature caches go to a temp dir: tests never touch the user's cache."""
    os.environ["AIART_CACHE"] = str(tmp_path_factory.mktemp("aiart-cache"))


@pytest.fixture(scope="session")
def tiny_model():
    """Input 16x16x3 -> conv_a -> conv_b -> GAP -> Dense(1, 'logit'), deterministic weights."""
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_a")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(inp, out, name="tiny")


@pytest.fixture
def tiny_input():
    """A deterministic structured sample: a bright square on a gradient."""
    x = np.tile(np.linspace(-1, 1, 16, dtype=np.float32)[None, :, None], (16, 1, 3))
    x[4:10, 6:12] += 3.0
    return x[None]


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def pattern_image():
    """A 64x48 RGB image with structure, made here (no third-party images in the repo)."""
    yy, xx = np.mgrid[0:48, 0:64]
    arr = np.stack([(xx * 4) % 256, (yy * 5) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    return Image.fromarray(arr, "RGB")
