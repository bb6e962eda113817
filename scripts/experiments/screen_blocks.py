"""Screen fewer statistics (issue 20): do the early blocks' statistics teach the probe sources, not skill?

`screen_layout.py` found that statistics added beside the shipped ones cost accuracy on held-out
sources (where things are in the picture: -0.011 and -0.017): more columns let the probe learn what
each training source looks like. The opposite move, fixed before this run: the shipped statistics of
the deeper blocks only, which leave out the early layers' colour and fine-texture statistics (the
look a source's camera, scanner or colour grading gives all its pictures):

- **blocks 3-5**: the taps of block3, block4 and block5 (both views; mean, std, active share);
- **blocks 2-5**: the same with block2.

Same screening as `screen.py` (probe C = 0.01, balanced; 5 folds, seeds 0-2, whole sources held out;
accuracy at logit 0; no copies), from the shipped model's cached features, columns chosen by
`feature_layout`. The baseline is `screen_layout.py`'s (OUT/quick-baseline.json: the same features,
splits and probe, which are deterministic). Rule, fixed before the run: the better of the two goes on
to a full yardstick run only if its mean accuracy beats the baseline's by at least the baseline's
spread over seeds. A model tapping fewer layers is one the package builds already (`HeadInfo.taps`).

Result (session 16): blocks 3-5 0.8363 ± 0.0041, blocks 2-5 0.8365 ± 0.0055, against the baseline's
0.8376 ± 0.0056: within a fifth of a spread, so neither goes on.

    python scripts/experiments/screen_blocks.py ../shared/data OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screen import shipped_store
from screen_layout import screen_one

from aiart.data.dataset import scan
from aiart.model.classifier import feature_layout
from aiart.model.storage import load_classifier
from aiart.training import recipe

CANDIDATES = {"blocks 3-5": ("block3", "block4", "block5"), "blocks 2-5": ("block2", "block3", "block4", "block5")}


def main(data: str, out: str) -> None:
    out = Path(out)
    shipped = load_classifier(None)
    x, y, kept, _ = recipe.features_for(shipped_store(shipped), scan(data))
    blocks = np.array(
        [tap.split("_")[0] for _, tap, _ in feature_layout(shipped.info.taps, shipped.info.views, shipped.info.moments)]
    )
    base = json.loads((out / "quick-baseline.json").read_text())
    print(f"baseline   accuracy {base['accuracy'][0]:.4f}±{base['accuracy'][1]:.4f} (screen_layout.py)", flush=True)
    for name, keep in CANDIDATES.items():
        screen_one(name, x[:, np.isin(blocks, keep)], y, kept, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
