"""Grad-CAM (Selvaraju et al., 2017, arXiv 1610.02391): channel weight = mean gradient (Eq. 1)."""

import numpy as np

from aiart.cam.base import BaseCAM


class GradCAM(BaseCAM):
    name = "gradcam"
    linear = True

    def channel_weights(self, acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
        return grads.mean(axis=(1, 2))
