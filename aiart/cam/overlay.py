"""Rendering kept apart from computing: pure numpy/OpenCV, ranges checked."""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
}


def colorize(heatmap: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8 RGB through an OpenCV colormap."""
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be 2-D, got shape {heatmap.shape}")
    if heatmap.size and (np.nanmin(heatmap) < 0 or np.nanmax(heatmap) > 1):
        raise ValueError("heatmap values must lie in [0, 1]")
    gray = np.uint8(np.round(np.nan_to_num(heatmap) * 255))
    return cv2.cvtColor(cv2.applyColorMap(gray, COLORMAPS[cmap]), cv2.COLOR_BGR2RGB)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45, cmap: str = "jet") -> np.ndarray:
    """Blend a colorized heatmap over an RGB uint8 image of the same size; `alpha` = heatmap weight."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("image must be RGB uint8 (H, W, 3)")
    if image.shape[:2] != heatmap.shape:
        heatmap = cv2.resize(heatmap.astype(np.float32), image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        heatmap = np.clip(heatmap, 0, 1)
    return cv2.addWeighted(colorize(heatmap, cmap), alpha, image, 1.0 - alpha, 0.0)
