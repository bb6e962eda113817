"""Grad-CAM++ (Chattopadhyay et al., 2018, arXiv 1710.11063), Eq. 19 with the exp-score shortcut."""

import numpy as np

from aiart.cam.base import EPS, BaseCAM


class GradCAMPlusPlus(BaseCAM):
    name = "gradcam++"

    def channel_weights(self, acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
        g2, g3 = grads**2, grads**3
        sum_acts = acts.sum(axis=(1, 2), keepdims=True)
        alpha = g2 / (2 * g2 + sum_acts * g3 + EPS)
        alpha = np.where(grads != 0, alpha, 0.0)
        return (np.maximum(grads, 0) * alpha).sum(axis=(1, 2))
