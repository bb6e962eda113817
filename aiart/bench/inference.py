"""`python -m aiart bench`: ratios measured in one run on the same images (machines are noisy).

The reference is a compiled bare VGG16 conv base (to block5_conv3) on the same input, once per view
the model sees (the plain picture and its high-pass copy: one batch of two), so each ratio is what
that pass adds to the conv stack's own work; the one-view rows put the second view's price beside it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from PIL import Image

from aiart.bench.precision import bare_forward, bench_precisions
from aiart.bench.timing import timeit
from aiart.cam import METHODS
from aiart.explain import DEFAULT_LAYER, DEFAULT_METHOD, explain, explain_targets, layer_choices
from aiart.model.classifier import PLAIN, untrained_classifier


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


BARE = "bare VGG16 forward, every view (1 image)"


def row(name: str, seconds: float, ref: float, goal: str = "") -> str:
    return f"{name:44s} {seconds * 1000:9.1f} ms  {seconds / ref:6.2f}x bare  {goal}"


def main(args) -> int:
    from aiart.model.storage import load_classifier

    clf = load_classifier(args.model)
    size = clf.input_size
    images = bench_images(args.batch)
    one = clf.to_batch(images[:1])
    batch = clf.to_batch(images)  # square bench images: the same shape with or without keep_aspect
    views = len(clf.info.views)
    bare_fn = bare_forward(size, clf.precision)  # the reference runs in the model's own number format
    every_view = np.concatenate([one] * views)  # the conv stack's work per picture: one pass per view
    plain = untrained_classifier(dataclasses.replace(clf.info, views=PLAIN))  # the same model, one view
    # The other input size's cost: the shipped model reads 448 px, the Train page's models 224 px.
    alt = 224 if size != 224 else 448
    other_fn, alt_one = bare_forward(alt, clf.precision), tf.image.resize(one, (alt, alt)).numpy()
    png = io.BytesIO()
    images[0].save(png, "PNG")
    cams = {m: METHODS[m](clf.model, DEFAULT_LAYER) for m in METHODS}
    others = [layer for layer in layer_choices(clf) if layer != DEFAULT_LAYER]  # every layer a page offers
    layers = {layer: METHODS[DEFAULT_METHOD](clf.model, layer) for layer in others}
    rows: dict[str, tuple[Callable[[], object], str]] = {
        BARE: (lambda: bare_fn(every_view).numpy(), ""),
        "predict forward (1 image)": (lambda: clf.logits_of_batch(one), ""),
        "bare VGG16 forward, plain view only": (lambda: bare_fn(one).numpy(), ""),
        "predict forward, plain view only": (lambda: plain.logits_of_batch(one), ""),
        f"bare VGG16 forward at {alt}x{alt} (1 image)": (lambda: other_fn(alt_one).numpy(), ""),
        "predict() end to end (decode+resize)": (lambda: clf.predict([png.getvalue()]), ""),
        **{
            f"predict + {m} @ {DEFAULT_LAYER}": (
                lambda c=c: c(one, 1.0),
                "(goal <= 1.30x)" if m == DEFAULT_METHOD else "",
            )
            for m, c in cams.items()
            if m != "scorecam"
        },
        f"explain() end to end ({DEFAULT_METHOD}, decode+upsample)": (lambda: explain(clf, images[0]), ""),
        f"explain_targets(), both classes ({DEFAULT_METHOD}, one pass)": (lambda: explain_targets(clf, images[0]), ""),
        **{f"predict + {DEFAULT_METHOD} @ {layer}": (lambda c=c: c(one, 1.0), "") for layer, c in layers.items()},
    }
    print(
        f"aiart bench: input {size}x{size}, {clf.precision} passes, views {'+'.join(clf.info.views)}, "
        f"median of {args.repeats} interleaved rounds, batch {args.batch}"
    )
    measured = timeit({name: fn for name, (fn, _) in rows.items()}, args.repeats)
    bare = measured[BARE]
    for name, (_, goal) in rows.items():
        print(row(name, measured[name], bare, goal))
    slow = timeit({"scorecam": lambda: cams["scorecam"](one, 1.0), "bare": lambda: bare_fn(every_view).numpy()}, 2)
    print(
        row(f"predict + scorecam @ {DEFAULT_LAYER} (top {cams['scorecam'].top_k} ch.)", slow["scorecam"], slow["bare"])
    )
    batch_t = timeit(
        {
            "ours": lambda: clf.logits_of_batch(batch),
            "keras": lambda: clf.model.predict(batch, verbose=0, batch_size=len(batch)),
        },
        args.repeats,
    )
    print(
        f"{'batch throughput vs model.predict':44s} {len(batch) / batch_t['ours']:7.1f} img/s vs "
        f"{len(batch) / batch_t['keras']:7.1f} img/s = {batch_t['keras'] / batch_t['ours']:5.2f}x  (goal >= 0.95x)"
    )
    bench_precisions(args.model, images, args.repeats, args.batch)
    if args.train:
        from aiart.bench.train import bench_train
        from aiart.training.recipe import train_base

        # The Train page's sessions run on their own smaller feature base, not on the default model's 448 px.
        bench_train(train_base(), finetune_epochs=args.finetune_epochs)
    if args.sessions:
        from aiart.bench.sessions import bench_sessions

        bench_sessions(args.sessions)
    return 0
