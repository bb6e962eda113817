"""Score-CAM (Wang et al., 2020, arXiv 1910.01279): no gradients; each channel's map masks the
input, and the target score of the masked image weighs that channel (softmax, Eq. 8).

Only the `top_k` most active channels are scored, in batches, to stay interactive on a CPU.
"""

import numpy as np

from aiart.cam.base import BaseCAM, compiled, normalize, resize_maps


class ScoreCAM(BaseCAM):
    name = "scorecam"
    uses_gradients = False
    top_k = 32
    batch_size = 16
    images_per_pass = batch_size

    def cam_image(self, acts, grads, x, sign) -> np.ndarray:
        forward = compiled(self.model, self.layer, "forward")
        cams = []
        for a, image in zip(acts, x):
            k = min(self.top_k, a.shape[-1])
            channels = np.argsort(a.mean(axis=(0, 1)))[::-1][:k]
            masks = resize_maps(normalize(np.moveaxis(a[..., channels], -1, 0)), image.shape[:2])
            scores = np.concatenate(
                [
                    sign * forward(image[None] * masks[i : i + self.batch_size, ..., None])[1].numpy()
                    for i in range(0, k, self.batch_size)
                ]
            )
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            cams.append(np.einsum("hwc,c->hw", a[..., channels], weights))
        return np.stack(cams)
