"""HiResCAM (Draelos & Carin, 2020, arXiv 2011.08891): gradient x activation, no spatial averaging.

It provably highlights the locations the score used (for a head that pools linearly).
"""

import numpy as np

from aiart.cam.base import BaseCAM


class HiResCAM(BaseCAM):
    name = "hirescam"
    linear = True

    def cam_image(self, acts, grads, x, sign) -> np.ndarray:
        return (grads * acts).sum(axis=-1)
