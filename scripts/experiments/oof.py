"""Out-of-fold logits of a model's recipe on the pool: every picture scored by the probe of each
seed's fold (5 folds, seeds 0-2, whole sources held out) that never saw its source, for tables by
groupings the yardstick does not make (`faces.py`). The recipe is MODEL's: its features from the cache,
the probe, and degraded copies of the training pictures when MODEL was trained with them.

    python scripts/experiments/oof.py ../shared/data OUT.npz [MODEL]
"""

from __future__ import annotations

import sys

import numpy as np
from screen import recipe_copies, recipe_rows, shipped_store

from aiart.data.dataset import scan
from aiart.model.storage import load_classifier
from aiart.training import recipe, validate
from aiart.training.probe import fit_probe


def main(data: str, out: str, model: str | None = None) -> None:
    like = load_classifier(model)
    store = shipped_store(like)
    x, y, kept, _ = recipe.features_for(store, scan(data))
    copies = recipe_copies(like, store, kept)
    groups = [s.source for s in kept]
    logits = np.zeros((3, len(y)))
    for seed in (0, 1, 2):
        fold = validate.source_folds(groups, 5, seed)
        for f in range(5):
            test = fold == f
            logits[seed, test] = fit_probe(*recipe_rows(x, y, ~test, copies)).decision_function(x[test])
        print(f"seed {seed}: accuracy {np.mean((logits[seed] >= 0) == y):.4f}", flush=True)
    np.savez(out, logits=logits, paths=np.array([str(s.path) for s in kept]), y=y)


if __name__ == "__main__":
    main(*sys.argv[1:])
