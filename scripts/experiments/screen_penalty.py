"""Screen the probe's penalty for today's width (issue 20): is C = 0.01 still right for 3x the columns?

The probe's C = 0.01 was chosen on the previous pool's 8448 columns (448 px, mean and std, one view).
The shipped statistics have 25344 (two views, three statistics each), and `screen_layout.py` found
that more columns cost accuracy on held-out sources: the probe may now fit its training sources too
closely. The candidate, fixed before the run and chosen on no result: the same penalty per column as
then, C = 0.01 * 8448 / 25344 = 0.0033. Same screening as `screen.py` (5 folds, seeds 0-2, whole
sources held out, accuracy at logit 0, no copies), from the shipped model's cached features; the
baseline is `screen_layout.py`'s (OUT/quick-baseline.json: the same features, splits and probe at
C = 0.01, deterministic). Rule, fixed before the run: a full yardstick run only if its mean accuracy
beats the baseline's by at least the baseline's spread over seeds.

Result (session 16): C = 0.0033 scored 0.8347 ± 0.0046 against the baseline's 0.8376 ± 0.0056, so it
does not go on.

    python scripts/experiments/screen_penalty.py ../shared/data OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screen import shipped_store
from screen_layout import screen_one

from aiart.data.dataset import scan
from aiart.model.storage import load_classifier
from aiart.training import recipe
from aiart.training.probe import DEFAULT_C, probe_fitter

THEN_COLUMNS = 8448  # the previous pool's features when C = 0.01 was chosen


def main(data: str, out: str) -> None:
    out = Path(out)
    x, y, kept, _ = recipe.features_for(shipped_store(load_classifier(None)), scan(data))
    c = DEFAULT_C * THEN_COLUMNS / x.shape[1]
    base = json.loads((out / "quick-baseline.json").read_text())
    print(f"baseline C {DEFAULT_C}  accuracy {base['accuracy'][0]:.4f}±{base['accuracy'][1]:.4f}", flush=True)
    screen_one(f"C {c:.4f}", x, y, kept, out, probe_fitter(c))


if __name__ == "__main__":
    main(*sys.argv[1:])
