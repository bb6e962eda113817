"""Every kind of file a class drags in: a clear one-line message, or a correct RGB image."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from aiart.data.images import ImageError, open_image, shrink
from tests.conftest import png_bytes


def gradient(w: int = 40, h: int = 30, mode: str = "RGB") -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 90)], -1)
    return Image.fromarray(arr.astype(np.uint8), "RGB").convert(mode)


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR claiming a huge size: a decompression bomb, built in bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


def animated_gif() -> bytes:
    frames = [gradient(20, 20, "RGB").convert("P"), Image.new("P", (20, 20), 3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def multipage_tiff() -> bytes:
    buf = io.BytesIO()
    gradient(20, 10).save(buf, "TIFF", save_all=True, append_images=[Image.new("RGB", (20, 10), "red")])
    return buf.getvalue()


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    return png_bytes(gradient(40, 20), "JPEG", exif=exif.tobytes())


def palette_transparent() -> bytes:
    img = Image.new("P", (10, 10), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.info["transparency"] = 0
    return png_bytes(img)


def sixteen_bit() -> bytes:
    arr = (np.arange(100, dtype=np.uint16).reshape(10, 10) * 600).astype(np.uint16)
    return png_bytes(Image.fromarray(arr))


BAD = {
    "empty": (b"", "empty file"),
    "random bytes": (np.random.default_rng(0).bytes(2000), "not a recognised image"),
    "truncated jpeg": (png_bytes(gradient(200, 200), "JPEG")[:600], "truncated"),
    "truncated png": (png_bytes(gradient(200, 200))[:300], "truncated"),
    "html": (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    "xml svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "PDF"),
    "zip": (zip_bytes(), "ZIP"),
    "decompression bomb": (png_header_only(40000, 40000), "limit"),
}

GOOD = {
    "1x1": (lambda: png_bytes(gradient(1, 1)), (1, 1)),
    "6000x40": (lambda: png_bytes(gradient(6000, 40)), (40, 6000)),
    "16-bit": (sixteen_bit, (10, 10)),
    "palette with transparency": (palette_transparent, (10, 10)),
    "LA": (lambda: png_bytes(gradient(12, 8, "LA")), (8, 12)),
    "RGBA": (lambda: png_bytes(gradient(12, 8, "RGBA")), (8, 12)),
    "CMYK jpeg": (lambda: png_bytes(gradient(12, 8, "CMYK"), "JPEG"), (8, 12)),
    "animated gif": (animated_gif, (20, 20)),
    "multi-page tiff": (multipage_tiff, (10, 20)),
    "exif rotated jpeg": (exif_rotated_jpeg, (40, 20)),  # stored 40x20 landscape, shown portrait
    "webp": (lambda: png_bytes(gradient(16, 16), "WEBP"), (16, 16)),
    "bmp": (lambda: png_bytes(gradient(16, 16), "BMP"), (16, 16)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_gets_one_line_message(name):
    data, fragment = BAD[name]
    with pytest.raises(ImageError) as info:
        open_image(data)
    message = str(info.value)
    assert fragment.lower() in message.lower(), message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_input_decodes_to_rgb(name):
    make, (h, w) = GOOD[name]
    img = open_image(make())
    assert img.mode == "RGB"
    assert (img.height, img.width) == (h, w)


def test_transparency_becomes_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert open_image(png_bytes(img)).getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_scales_to_full_range():
    arr = np.asarray(open_image(sixteen_bit()))
    assert arr.max() > 200 and arr.min() == 0


def test_png_named_jpg_and_odd_names(tmp_path):
    for name in ("photo.jpg", "ÄÖÜ 日本語 🎨.png", "x" * 200 + ".png"):
        path = tmp_path / name
        path.write_bytes(png_bytes(gradient(8, 8)))
        assert open_image(path).size == (8, 8)
    with pytest.raises(ImageError, match="not found"):
        open_image(tmp_path / "missing.png")


def test_file_objects_and_pil_images_work():
    data = png_bytes(gradient(8, 6))
    assert open_image(io.BytesIO(data)).size == (8, 6)
    assert open_image(gradient(8, 6, "L")).mode == "RGB"


def test_shrink_keeps_aspect_and_never_enlarges():
    assert shrink(gradient(1000, 500), 200).size == (200, 100)
    assert shrink(gradient(10, 5), 200).size == (10, 5)


def test_a_108_megapixel_phone_jpeg_is_decoded_at_reduced_size():
    """Issue 21: a 12000x9000 phone photo is a picture, not an attack: draft mode decodes it at 1/2 or 1/4."""
    from PIL import ImageDraw

    from aiart.data.images import MAX_PIXELS

    photo = Image.new("RGB", (12000, 9000), (200, 170, 120))
    ImageDraw.Draw(photo).ellipse((3000, 2000, 9000, 7000), fill=(40, 90, 160))
    data = png_bytes(photo, "JPEG")
    del photo
    assert len(data) < 25 * 2**20  # under the app's upload limit
    img = open_image(data)
    assert img.mode == "RGB" and img.width * img.height <= MAX_PIXELS
    assert (img.width, img.height) == (6000, 4500)  # half size keeps the aspect; a quarter would do less well
    r, _, b = img.getpixel((3000, 2250))
    assert b > r  # the picture itself, not a blank


@pytest.mark.parametrize("size", [(10000, 9000), (100000, 100000)])
def test_a_png_that_would_expand_past_the_limit_is_refused_before_decoding(size):
    """Header-only PNGs: decoding them would fail as truncated, so a 'bomb' message proves nothing was decoded."""
    with pytest.raises(ImageError, match="decompression bomb"):
        open_image(png_header_only(*size))
