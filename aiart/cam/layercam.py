"""LayerCAM (Jiang et al., 2021): per-pixel weights, positive gradients only; sharp at early layers."""

import numpy as np

from aiart.cam.base import BaseCAM


class LayerCAM(BaseCAM):
    name = "layercam"

    def cam_image(self, acts, grads, x, sign) -> np.ndarray:
        return (np.maximum(grads, 0) * acts).sum(axis=-1)
