"""`python -m aiart bench`: ratios measured in one run on the same images (machines are noisy).

The reference is a compiled bare VGG16 conv base (to block5_conv3) on the same input batch.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from PIL import Image

from aiart.backbone import build_backbone
from aiart.cam import METHODS
from aiart.explain import DEFAULT_LAYER, DEFAULT_METHOD, explain
from aiart.model import to_batch
from aiart.vgg_weights import CONV_LAYERS


def timeit(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_images(n: int, size: int = 384) -> list[Image.Image]:
    """Deterministic synthetic paintings-like images, so the bench needs no data."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for i in range(n):
        base = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), np.sin(4 * (xx + yy))], -1)
        arr = (base * 0.5 + 0.5) * 200 + rng.normal(0, 20, (size, size, 3))
        out.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)))
    return out


def row(name: str, seconds: float, ref: float, goal: str = "") -> str:
    return f"{name:44s} {seconds * 1000:9.1f} ms  {seconds / ref:6.2f}x bare  {goal}"


def main(args) -> int:
    from aiart.storage import load_classifier

    clf = load_classifier(args.model)
    size = clf.input_size
    images = bench_images(args.batch)
    one = to_batch(images[:1], size)
    batch = to_batch(images, size)
    backbone = build_backbone(size)
    spec = tf.TensorSpec((None, size, size, 3), tf.float32)
    bare_fn = tf.function(lambda x: backbone(x, training=False)["block5_conv3"], input_signature=[spec])
    bare = timeit(lambda: bare_fn(one).numpy(), args.repeats)
    png = io.BytesIO()
    images[0].save(png, "PNG")
    print(f"aiart bench: input {size}x{size}, median of {args.repeats}, batch {args.batch}")
    print(row("bare VGG16 forward (1 image, compiled)", bare, bare))
    print(row("predict forward (1 image)", timeit(lambda: clf.logits_of_batch(one), args.repeats), bare))
    print(
        row("predict() end to end (decode+resize)", timeit(lambda: clf.predict([png.getvalue()]), args.repeats), bare)
    )
    for method in METHODS:
        cam = METHODS[method](clf.model, DEFAULT_LAYER)
        goal = "(goal <= 1.30x)" if method == DEFAULT_METHOD else ""
        print(row(f"predict + {method} @ {DEFAULT_LAYER}", timeit(lambda c=cam: c(one, 1.0), args.repeats), bare, goal))
    print(row("explain() end to end (gradcam)", timeit(lambda: explain(clf, images[0]), args.repeats), bare))
    for layer in CONV_LAYERS:
        if layer != DEFAULT_LAYER:
            cam = METHODS[DEFAULT_METHOD](clf.model, layer)
            print(row(f"predict + {DEFAULT_METHOD} @ {layer}", timeit(lambda c=cam: c(one, 1.0), args.repeats), bare))
    ours = timeit(lambda: clf.logits_of_batch(batch), args.repeats)
    keras_predict = timeit(lambda: clf.model.predict(batch, verbose=0, batch_size=len(batch)), args.repeats)
    print(
        f"{'batch throughput vs model.predict':44s} {len(batch) / ours:7.1f} img/s vs {len(batch) / keras_predict:7.1f}"
        f" img/s = {keras_predict / ours:5.2f}x  (goal >= 0.95x)"
    )
    if args.train:
        from aiart.bench_train import bench_train

        bench_train(clf)
    if args.sessions:
        from aiart.bench_sessions import bench_sessions

        bench_sessions(args.sessions)
    return 0
