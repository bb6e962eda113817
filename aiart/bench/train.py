"""`python -m aiart bench --train`: the Train page's default session, timed cold and cached.

Cold = a fresh, empty temporary feature cache (every image goes through VGG16 once); cached = the
same session again, which only reads features from disk and fits the head. Uses ../shared/data
when present, else synthetic images written to a temp folder, so it runs anywhere.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aiart.bench.timing import timeit
from aiart.config import CLASS_NAMES, default_data_dir
from aiart.data import dataset
from aiart.data.features import FeatureStore
from aiart.model.backbone import block_input, top_block
from aiart.model.classifier import Classifier
from aiart.training import recipe
from aiart.training.fit import TrainConfig

DEFAULT_PER_CLASS = 100  # the Train page's default: about 200 images in a session
GOAL_COLD_S, GOAL_CACHED_S = 60.0, 5.0


def write_synthetic(root: Path, per_class: int, sources: int = 5, size: int = 384) -> Path:
    """Smooth gradient "AI" images and noisy "human" ones in `sources` sub-folders per class."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for label in CLASS_NAMES:
        for i in range(per_class):
            folder = root / label / f"source{i % sources}"
            folder.mkdir(parents=True, exist_ok=True)
            if label == CLASS_NAMES[0]:
                arr = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), np.sin(4 * (xx + yy))], -1) * 110 + 128
            else:
                arr = rng.integers(0, 255, (size, size, 3)).astype(float)
            Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(folder / f"{i:04d}.jpg", quality=90)
    return root


def timed_session(
    clf: Classifier, data: recipe.Split, store: FeatureStore, config: TrainConfig
) -> tuple[float, recipe.Result]:
    start = time.perf_counter()
    result = recipe.train_split(clf, data, config, store)
    return time.perf_counter() - start, result


def passes_alone(clf: Classifier, images: int, batch_size: int = 16, repeats: int = 3) -> float:
    """Seconds the bare VGG16 feature passes for `images` inputs take now, in the session's batches:
    the part of a cold session no code of ours can save, measured in the same run."""
    shape = (batch_size, clf.input_size, clf.input_size, 3)
    batch = np.random.default_rng(0).uniform(-120, 120, shape).astype(np.float32)
    seconds = timeit({"passes": lambda: clf.features_of_batch(batch)}, repeats)["passes"]
    return seconds / batch_size * images


def bench_train(
    clf: Classifier,
    per_class: int = DEFAULT_PER_CLASS,
    data_dir: Path | None = None,
    config: TrainConfig | None = None,
    finetune_epochs: int = 0,
) -> dict:
    """Print and return seconds of the default session (the page's defaults), cold and cached; with
    `finetune_epochs`, then the same session fine-tuning block5 too (its inputs' cache cold, then warm)."""
    config = config or TrainConfig()
    with tempfile.TemporaryDirectory(prefix="aiart-bench-") as tmp:
        root = data_dir or default_data_dir()
        origin = str(root)
        if root is None or not Path(root).is_dir():
            root, origin = write_synthetic(Path(tmp) / "data", per_class), "synthetic images (no data folder)"
        samples = recipe.select(dataset.scan(root), per_class)
        data = recipe.split(samples)
        store = FeatureStore(clf, root=Path(tmp) / "features")
        cold, result = timed_session(clf, data, store, config)
        cached, _ = timed_session(clf, data, store, config)
        tuned = TrainConfig(**{**config.as_dict(), "finetune_epochs": finetune_epochs})
        tuning = [timed_session(clf, data, store, tuned) for _ in range(2 if finetune_epochs else 0)]
    alone = passes_alone(clf, len(samples))
    n_train, n_val = result.info.training["n_train"], result.info.training["n_val"]
    print(
        f"train session: {len(samples)} images ({n_train} train, {n_val} validation on held-out sources) "
        f"of {origin}, {result.info.training['epochs_run']} epochs"
    )
    print(f"{'first session (empty feature cache)':44s} {cold:8.1f} s  {cold / GOAL_COLD_S:5.2f}x goal (< 60 s)")
    print(f"{'  its VGG16 passes alone, timed now':44s} {alone:8.1f} s  (first session: {cold / alone:.2f}x this)")
    print(f"{'same session on cached features':44s} {cached:8.1f} s  {cached / GOAL_CACHED_S:5.2f}x goal (< 5 s)")
    report = {"images": len(samples), "cold_s": cold, "cached_s": cached, "passes_alone_s": alone}
    if tuning:
        (first, _), (again, tuned_result) = tuning
        epochs = tuned_result.info.training["epochs_run"] - result.info.training["epochs_run"]
        per_image = (again - cached) / max(epochs * n_train, 1)
        block = top_block(clf.info.taps)
        print(
            f"{f'+ fine-tune {block}, {epochs} epochs, first time':44s} {first:8.1f} s  (caches {block_input(block)})"
        )
        print(f"{f'+ fine-tune {block}, {epochs} epochs, cached':44s} {again:8.1f} s  ({per_image:.3f} s/image/epoch)")
        report |= {"finetune_first_s": first, "finetune_cached_s": again, "finetune_s_per_image_epoch": per_image}
    return report
