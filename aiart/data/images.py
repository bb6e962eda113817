"""One way to open an image, used everywhere: files, uploads, CLI, training.

Every failure becomes an `ImageError` with a one-line message a student can read, so one bad
file in a batch is reported and skipped, never a traceback.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # about 7000x7000 decoded; larger is refused as a possible decompression bomb
DRAFT_SCALES = (2, 4, 8)  # a JPEG can be decoded at 1/2, 1/4 or 1/8 size (Pillow's draft mode)
MAX_BYTES = 50 * 1024 * 1024
ImageSource = str | Path | bytes | bytearray | BinaryIO | Image.Image

_SIGNATURES = (
    (b"%PDF", "a PDF document, not an image"),
    (b"PK\x03\x04", "a ZIP archive, not an image"),
    (b"<svg", "an SVG vector drawing; export it as PNG first"),
    (b"<?xml", "an XML/SVG document; export it as PNG first"),
    (b"<!doctype html", "an HTML page, not an image"),
    (b"<html", "an HTML page, not an image"),
)


class ImageError(ValueError):
    """A file that cannot be used as an image; the message is one line, meant for users."""


def read_bytes(src: ImageSource) -> bytes:
    if isinstance(src, (bytes, bytearray)):
        return bytes(src)
    if isinstance(src, (str, Path)):
        path = Path(src)
        try:
            if not path.is_file():
                raise ImageError("file not found")
            if path.stat().st_size > MAX_BYTES:
                raise ImageError(f"file is larger than {MAX_BYTES // 2**20} MB")
            return path.read_bytes()
        except OSError as exc:  # unreadable, name too long, removed meanwhile
            raise ImageError(f"cannot read file ({exc.strerror or type(exc).__name__})") from None
    data = src.read()
    if hasattr(src, "seek"):
        src.seek(0)
    return data


def sniff(data: bytes) -> None:
    """Name the common non-image files instead of a generic decoder error."""
    if not data:
        raise ImageError("empty file (0 bytes)")
    head = data[:256].lstrip().lower()
    for magic, what in _SIGNATURES:
        if head.startswith(magic.lower()):
            raise ImageError(f"this is {what}")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def draft_scale(width: int, height: int) -> int | None:
    """The smallest JPEG draft reduction that brings a photo within MAX_PIXELS (1: none; None: too big at 1/8)."""
    for scale in (1, *DRAFT_SCALES):
        if (width // scale) * (height // scale) <= MAX_PIXELS:
            return scale
    return None


def open_image(src: ImageSource) -> Image.Image:
    """Decode, take the first frame, apply EXIF orientation, return RGB; else `ImageError`.

    The size is checked from the header, before anything is decoded: a phone's 108-megapixel JPEG is
    decoded at half or quarter size (the model reads a few hundred pixels anyway), while any other
    image over MAX_PIXELS (a tiny PNG that would expand to gigapixels) is refused undecoded.
    """
    if isinstance(src, Image.Image):
        return to_rgb(ImageOps.exif_transpose(src) or src)
    data = read_bytes(src)
    sniff(data)
    try:
        with warnings.catch_warnings():
            # Pillow warns above ~89 MP, before our own check below decides; it still raises above ~179 MP.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            within = width * height <= MAX_PIXELS
            scale = draft_scale(width, height) if img.format == "JPEG" else (1 if within else None)
            if scale is None:
                raise ImageError(
                    f"image is {width}x{height} pixels, over the {MAX_PIXELS:,} limit: refused as a possible "
                    "decompression bomb"
                )
            if scale > 1:
                img.draft("RGB", (-(-width // scale), -(-height // scale)))
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError("not a recognised image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "truncated" in msg.lower() or isinstance(exc, EOFError):
            raise ImageError(f"truncated image file, not decoded ({msg})") from None
        raise ImageError(f"corrupt or unsupported image ({msg})") from None


def shrink(img: Image.Image, max_side: int) -> Image.Image:
    """Bound memory of cached uploads; keeps aspect ratio and never enlarges."""
    if max(img.size) <= max_side:
        return img
    out = img.copy()
    out.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return out


def resize_square(img: Image.Image, size: int) -> np.ndarray:
    """The model's view: the whole image squashed to size x size, as float32 RGB 0..255."""
    resized = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(resized, dtype=np.float32)


def resize_longest(img: Image.Image, size: int) -> np.ndarray:
    """The whole image with its longer side scaled to `size` and its aspect kept, as float32 RGB.

    Pooled channel statistics do not care about the shape, and squashing a wide picture into a
    square distorts the fine texture that generators leave behind.
    """
    scale = size / max(img.size)
    shape = (max(32, round(img.width * scale)), max(32, round(img.height * scale)))
    return np.asarray(img.resize(shape, Image.Resampling.BILINEAR, reducing_gap=None), dtype=np.float32)
