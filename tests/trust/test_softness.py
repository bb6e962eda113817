"""The soft-picture warning: sharpness falls with blur and enlargement, the level is the pool's own
5th percentile, and only a model that stored that level warns."""

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageFilter

from aiart.trust.softness import is_soft, reference, sharpness
from tests.conftest import synthetic_art


def test_sharpness_falls_with_blur_and_enlargement():
    img = synthetic_art(1, False, (96, 128))
    sharp = sharpness(img, 64)
    assert sharpness(img.filter(ImageFilter.GaussianBlur(1)), 64) < 0.5 * sharp
    small = img.resize((32, 24), Image.Resampling.BILINEAR).resize(img.size, Image.Resampling.BILINEAR)
    assert sharpness(small, 64) < 0.5 * sharp
    assert sharpness(img, 64) == pytest.approx(sharpness(img.copy(), 64))  # a measurement, not a sample


def test_reference_is_the_pools_quantile_and_skips_unreadable_files(tmp_path):
    images = [synthetic_art(i, i % 2 == 0, (64, 64)).filter(ImageFilter.GaussianBlur(i / 4)) for i in range(12)]
    values = [sharpness(img, 48) for img in images]
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    ref = reference([*images, tmp_path / "broken.jpg"], 48, quantile=0.25)
    assert ref["n"] == 12 and ref["soft_below"] == pytest.approx(np.quantile(values, 0.25))
    assert ref["median"] == pytest.approx(np.median(values))
    with pytest.raises(ValueError, match="no picture"):
        reference([tmp_path / "broken.jpg"], 48)
    spread = reference(images, 48, quantile=0.25, most=4)  # 4 pictures evenly spread, the first and last among them
    assert spread["n"] == 4 and spread["median"] == pytest.approx(np.median([values[i] for i in (0, 4, 7, 11)]))


def test_only_a_model_with_a_stored_level_warns(small_classifier, monkeypatch):
    img = synthetic_art(3, True, (64, 64))
    assert is_soft(small_classifier, img) is None  # a model stored before models kept a level
    level = sharpness(img, small_classifier.input_size)
    info = dataclasses.replace(small_classifier.info, metrics={"sharpness": {"soft_below": level * 0.9}})
    monkeypatch.setattr(small_classifier, "info", info)
    assert is_soft(small_classifier, img) is False
    assert is_soft(small_classifier, img.filter(ImageFilter.GaussianBlur(2))) is True
