"""How often the shipped recipe is right on pictures with a close-up face (README, *Faces*), measured
with the detector the pages use (`aiart.trust.faces`, BlazeFace short-range), so the warning beside a
verdict quotes numbers of its own detector.

A measurement, nothing is chosen on it: the close-up rule (the face's box at least a fifth of the
picture's shorter side) and the detector's threshold (MediaPipe's 0.5) were fixed before the run.
Accuracy is the shipped recipe's out of fold on held-out sources (seeds 0-2, 5 folds, logit >= 0),
from `oof.py` (or `degraded.py`'s `oof-baseline.npz`); mean ± spread over the seeds.

    python scripts/experiments/faces.py ../shared/data OUT OOF.npz
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from aiart.data.dataset import scan
from aiart.data.images import ImageError, open_image
from aiart.training.recipe import table_columns
from aiart.trust.faces import close_up_faces


def detect(data: str, out: Path) -> dict[str, int]:
    """path -> number of close-up faces, for every picture of the pool (cached in OUT/faces.json)."""
    path = out / "faces.json"
    if path.exists():
        return json.loads(path.read_text())
    found = {}
    for s in scan(data):
        try:
            found[str(s.path)] = len(close_up_faces(open_image(s.path)))
        except ImageError:
            continue
    path.write_text(json.dumps(found))
    return found


def main(data: str, out: str, oof_file: str) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    found = detect(data, out)
    oof = np.load(oof_file)
    paths, y, logits = list(oof["paths"]), oof["y"], oof["logits"]
    by_path = {str(s.path): s for s in scan(data)}
    kept = [by_path[p] for p in paths]
    kinds = np.array(table_columns(kept)["kind"])
    sources = np.array([s.source for s in kept])
    face = np.array([found.get(p, 0) > 0 for p in paths])
    right = (logits >= 0).astype(int) == y[None]  # (seeds, images)
    photo = kinds == "human photo"
    groups = {
        "human-made, close-up face": (y == 0) & face,
        "human-made, no close-up face": (y == 0) & ~face,
        "AI, close-up face": (y == 1) & face,
        "AI, no close-up face": (y == 1) & ~face,
        "human photos, close-up face": photo & face,
        "human photos, no close-up face": photo & ~face,
    }
    rows = {}
    print(f"close-up faces in {int(face.sum())} of {len(face)} pictures")
    print("| pictures | images (sources) | right | called AI |")
    for name, mask in groups.items():
        acc = right[:, mask].mean(axis=1)
        rows[name] = {
            "images": int(mask.sum()),
            "sources": len(set(sources[mask])),
            "right": [float(acc.mean()), float(acc.std())],
            "called_ai": float((logits[:, mask] >= 0).mean()),
        }
        r = rows[name]
        print(
            f"| {name} | {r['images']} ({r['sources']}) | {acc.mean():.2f} ± {acc.std():.2f} | {r['called_ai']:.2f} |"
        )
    (out / "faces-table.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
