"""The pictures a room hands to voters: small enough for thirty phones on a school Wi-Fi."""

from __future__ import annotations

import io

import numpy as np
import segno
from PIL import Image

from aiart.data.images import shrink

ROUND_SIDE = 768  # px, longest side of the image voters see
JPEG_QUALITY = 85


def round_jpeg(image: np.ndarray) -> bytes:
    """The round's image as a JPEG at most `ROUND_SIDE` px: the only copy that leaves the host."""
    buf = io.BytesIO()
    shrink(Image.fromarray(image).convert("RGB"), ROUND_SIDE).save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def png(image: np.ndarray) -> bytes:
    """A lossless PNG (heatmap overlays: JPEG smears their colour edges)."""
    buf = io.BytesIO()
    shrink(Image.fromarray(image), ROUND_SIDE).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def join_qr(url: str, scale: int = 10) -> bytes:
    """The join link as a QR code PNG, drawn locally (segno): nothing goes to an online QR service."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
