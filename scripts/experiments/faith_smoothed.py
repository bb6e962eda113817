"""Does a smoothed contribution map predict deletion better? A candidate, screened by the
faithfulness check: greying a cell changes every activation whose receptive field reaches it, so a
cell's effect may be better told by its neighbours' shares too. The map is blurred on its own grid
by a Gaussian of SIGMA grid cells (the blur keeps its total: it still adds up to the score) before
the check ranks the picture's cells.

    python scripts/experiments/faith_smoothed.py SIGMA --model FOLD.keras faithfulness DIR \
        --methods contribution --layer block3_conv3 --json

SIGMA 4 won (README, round five) and is what `ContributionCAM` does now (sigma: 1/28 of the grid's
longer side); SIGMA 0 gives the map as it was before, unblurred.
"""

from __future__ import annotations

import sys

import numpy as np

from aiart import cli
from aiart.cam.contribution import ContributionCAM, blur


def smoothed(sigma: float):
    def cam_image(self, acts: np.ndarray, grads: None, x: np.ndarray, sign: float) -> np.ndarray:
        return np.stack([blur(m, sigma) if sigma else m for m in acts])

    return cam_image


if __name__ == "__main__":
    ContributionCAM.cam_image = smoothed(float(sys.argv[1]))
    sys.exit(cli.main(sys.argv[2:]))
