"""The close-up face check: the shipped BlazeFace model finds a real portrait's face where it is, in
the picture's pixels whatever its shape, and nothing on pictures without a face."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from aiart.trust import faces as fc
from tests.conftest import portrait as a_portrait
from tests.conftest import synthetic_art


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    return a_portrait()


def test_the_shipped_model_is_the_one_the_decoder_was_written_for():
    assert hashlib.sha256(fc.MODEL.read_bytes()).hexdigest() == fc.SHA256
    assert fc.anchors().shape == (896, 2)  # 16 x 16 x 2 + 8 x 8 x 6, the model's boxes
    assert fc.anchors().min() > 0 and fc.anchors().max() < 1


def test_a_portrait_has_one_close_up_face_where_the_face_is(portrait):
    found = fc.faces(portrait)
    assert len(found) == 1 and found[0].score > 0.9
    face = found[0]
    # her face: upper middle of the picture, about a third of its width (checked by eye once)
    assert 120 < face.x < 220 and 100 < face.y < 200 and 150 < face.width < 250
    assert face.close_up(portrait.size)
    assert fc.close_up_faces(portrait) == found


@pytest.mark.parametrize("canvas", [(1200, 600), (600, 1400), (900, 900)])
def test_boxes_are_in_the_pictures_pixels_whatever_its_shape(portrait, canvas):
    """The letterbox is undone: the portrait pasted into a wide, tall or square canvas has its face
    found where it was pasted, at its size (within 2 of the model's 128 px)."""
    big = Image.new("RGB", canvas, "white")
    at = (canvas[0] - 520, canvas[1] - 600)
    big.paste(portrait, at)
    (face,) = fc.faces(big)
    ref = fc.faces(portrait)[0]
    tol = 2 * max(canvas) / fc.SIDE
    assert face.x == pytest.approx(at[0] + ref.x, abs=tol) and face.y == pytest.approx(at[1] + ref.y, abs=tol)
    assert face.width == pytest.approx(ref.width, abs=tol)


def test_a_face_smaller_than_a_fifth_is_found_but_not_close_up(portrait):
    big = Image.new("RGB", (1200, 1200), "white")
    big.paste(portrait, (300, 300))
    found = fc.faces(big)
    assert found and found[0].width < 0.2 * 1200 and not fc.close_up_faces(big)


@pytest.mark.parametrize("seed", range(4))
def test_no_face_in_pictures_without_one(seed):
    assert fc.faces(synthetic_art(seed, seed % 2 == 0, (160, 120))) == []
    assert fc.faces(Image.new("RGB", (64, 400), "gray")) == []
    assert fc.faces(Image.fromarray(np.random.default_rng(seed).integers(0, 256, (90, 90, 3), np.uint8))) == []


def test_a_changed_model_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(fc.MODEL.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(fc, "MODEL", bad)
    fc._interpreter.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="sha256"):
            fc.faces(Image.new("RGB", (32, 32)))
    finally:
        fc._interpreter.cache_clear()
