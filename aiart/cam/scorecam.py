"""Score-CAM (Wang et al., 2020, arXiv 1910.01279): no gradients; each channel's map masks the
input, and the target score of the masked image weighs that channel (softmax, Eq. 8).

Only the `top_k` most active channels are scored, in batches, to stay interactive on a CPU. A batch
holds at most `pixels_per_pass` pixels (sixteen 224x224 copies), so a larger input means smaller
batches, not more memory.
"""

import numpy as np

from aiart.cam.base import BaseCAM, compiled, normalize, pixels, resize_maps


class ScoreCAM(BaseCAM):
    name = "scorecam"
    uses_gradients = False
    slow = True  # top_k masked copies per map
    top_k = 32
    pixels_per_pass = 16 * 224 * 224

    def cam_image(self, acts, grads, x, sign) -> np.ndarray:
        forward = compiled(self.model, self.layer, "forward")
        cams = []
        for a, image in zip(acts[: len(x)], x):  # the first view's maps mask the image itself
            k = min(self.top_k, a.shape[-1])
            channels = np.argsort(a.mean(axis=(0, 1)))[::-1][:k]
            masks = resize_maps(normalize(np.moveaxis(a[..., channels], -1, 0)), image.shape[:2])
            step = max(1, self.pixels_per_pass // pixels(image[None]))
            parts = [self.scores(forward, image, masks[i : i + step]) for i in range(0, k, step)]
            scores = sign * np.concatenate(parts)
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            cams.append(np.einsum("hwc,c->hw", a[..., channels], weights))
        return np.stack(cams)

    def scores(self, forward, image: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The logit of `image` under each mask, in one gated pass."""
        batch = image[None] * masks[..., None]
        with self.gate(pixels(batch)):
            return forward(batch)[1].numpy()
