"""Shared fixtures: a tiny conv model for CAM tests, images made in the test, a temp cache."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

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


SMALL_TAPS = ("block1_conv2", "block2_conv2", "block3_conv3")


def random_head(dim: int, seed: int, data_seed: int):
    """A seeded head (Dense 8) on `dim` features, its standardization adapted to random features."""
    import keras

    from aiart.model.classifier import build_head

    keras.utils.set_random_seed(seed)
    head = build_head(dim, hidden=8)
    head.get_layer("standardize").adapt(np.random.default_rng(data_seed).normal(size=(16, dim)))
    return head


@pytest.fixture(scope="session")
def small_classifier():
    """A real aiart Classifier (VGG16 weights, flat graph) cut at block3 with 32x32 inputs: fast."""
    from aiart.model.classifier import Classifier, HeadInfo, feature_dim

    return Classifier(random_head(feature_dim(SMALL_TAPS), 3, 0), HeadInfo(input_size=32, taps=SMALL_TAPS))


def portrait() -> Image.Image:
    """A real portrait photo with one close-up face: Grace Hopper, which matplotlib ships as sample data
    (512 x 600)."""
    import matplotlib

    return Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")


def synthetic_art(seed: int, ai: bool, size: tuple[int, int] = (48, 40)) -> Image.Image:
    """Smooth gradients ("AI") or noisy strokes ("human"): made here, no third-party images."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    if ai:
        arr = np.stack([np.sin(6 * xx + seed), np.cos(5 * yy + seed), np.sin(3 * (xx + yy))], -1) * 110 + 128
    else:
        arr = rng.integers(0, 255, (h, w, 3)).astype(float)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture
def labelled_folder(tmp_path):
    """Kaggle layout with 4 images per class, plus one broken file among the human ones."""
    root = tmp_path / "data"
    for label, ai in (("AI_GENERATED", True), ("NON_AI_GENERATED", False)):
        (root / label).mkdir(parents=True)
        for i in range(4):
            synthetic_art(i, ai).save(root / label / f"{label.lower()}_{i}.png")
    (root / "NON_AI_GENERATED" / "broken.jpg").write_bytes(b"not really a jpeg")
    return root


@pytest.fixture
def known_folder(labelled_folder, small_classifier):
    """`labelled_folder` whose cached predictions for `small_classifier` hold known probabilities.

    P(AI): ai_generated_0..3 = 0.9, 0.3, 0.05, 0.7; non_ai_generated_0..3 = 0.1, 0.55, 0.8, 0.42;
    broken.jpg unreadable. So the mistakes are ai_1, ai_2, human_1, human_2; the confident ones
    ai_2 (95% sure) then human_2 (80%); the unsure ones human_1 then human_3.
    """
    from aiart import browse
    from aiart.data import dataset

    known = {
        "ai_generated_0.png": 0.9,
        "ai_generated_1.png": 0.3,
        "ai_generated_2.png": 0.05,
        "ai_generated_3.png": 0.7,
        "non_ai_generated_0.png": 0.1,
        "non_ai_generated_1.png": 0.55,
        "non_ai_generated_2.png": 0.8,
        "non_ai_generated_3.png": 0.42,
    }
    samples = dataset.scan(labelled_folder)
    p = np.array([known.get(s.path.name, np.nan) for s in samples])
    errors = [None if s.path.name in known else "not a recognised image format" for s in samples]
    path = browse.cache_file(small_classifier.version, browse.folder_key(samples))
    browse.write_cache(path, samples, p, errors)
    return labelled_folder


def write_sourced_folder(root: Path) -> Path:
    """Kaggle layout with 3 source sub-folders per class, 3 synthetic images each."""
    for label, ai in (("AI_GENERATED", True), ("NON_AI_GENERATED", False)):
        for src in range(3):
            folder = root / label / f"src{src}"
            folder.mkdir(parents=True)
            for i in range(3):
                synthetic_art(10 * src + i + (0 if ai else 100), ai).save(folder / f"{i}.png")
    return root


def run_python(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    """`python ARGS` from the project root with TensorFlow's logs quiet; the caller checks the result."""
    from aiart.config import PROJECT_ROOT

    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=False,
    )


def open_panel(page, monkeypatch, classifier) -> object:
    """An AppTest of a function-page holding one trust panel, run once with `classifier` as the model."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: classifier)
    at = AppTest.from_function(page, default_timeout=120)
    at.run()
    return at


def open_app(script: str, monkeypatch, classifier, data) -> object:
    """An AppTest of `script` run once, with `classifier` as the shared model and `data` as AIART_DATA."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: classifier)
    monkeypatch.setenv("AIART_DATA", str(data))
    at = AppTest.from_file(script, default_timeout=120)
    at.run()
    assert not at.exception
    return at


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the whole session (tests/pg.py); a missing package fails, never skips."""
    from tests import pg

    with pg.running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres) -> str:
    """A URL (with its password) to a new, empty database on the session's server."""
    return postgres.fresh_database()
