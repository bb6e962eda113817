"""`bench` rows per precision: the same passes in float32 and in each format this CPU runs natively,
timed interleaved in one run, with the ratio to float32 (machines are noisy; ratios hold)."""

from __future__ import annotations

import tensorflow as tf

from aiart.bench.timing import timeit
from aiart.cam import METHODS
from aiart.explain import DEFAULT_LAYER, DEFAULT_METHOD
from aiart.model.backbone import BLOCKS, FILTERS, build_backbone
from aiart.model.precision import native_bfloat16


def available_precisions() -> list[str]:
    """float32 always, bfloat16 where the CPU multiplies it natively (elsewhere it is emulated)."""
    return ["float32"] + (["bfloat16"] if native_bfloat16() else [])


def vgg16_macs(height: int, width: int) -> int:
    """Multiply-accumulates of VGG16's 13 convs (3x3, 'same') on one height x width image."""
    macs, c_in = 0, 3
    for block, names in BLOCKS.items():
        for _ in names:
            macs += height * width * c_in * FILTERS[block] * 9
            c_in = FILTERS[block]
        height, width = height // 2, width // 2
    return macs


def bare_forward(size: int, precision: str):
    backbone = build_backbone(size, precision)
    spec = tf.TensorSpec((None, size, size, 3), tf.float32)
    return tf.function(lambda x: backbone(x, training=False)["block5_conv3"], input_signature=[spec])


def bench_precisions(model_path, images: list, repeats: int, batch_size: int) -> dict[str, dict[str, float]]:
    """Seconds per image of each pass, per available precision; prints the table and returns it."""
    from aiart.model.storage import load_classifier

    fns, per_image = {}, {}
    for p in available_precisions():
        clf = load_classifier(model_path, precision=p)
        one = clf.to_batch(images[:1])
        batch = clf.to_batch(images[:batch_size])
        small, big = (tf.image.resize(one, (side, side)).numpy() for side in (224, 448))
        f224, f448 = bare_forward(224, p), bare_forward(448, p)
        cam = METHODS[DEFAULT_METHOD](clf.model, DEFAULT_LAYER)
        fns |= {
            (p, "bare224"): lambda f=f224, x=small: f(x).numpy(),
            (p, "bare448"): lambda f=f448, x=big: f(x).numpy(),
            (p, "predict"): lambda c=clf, x=one: c.logits_of_batch(x),
            (p, "heatmap"): lambda c=cam, x=one: c(x, 1.0),
            (p, "browse"): lambda c=clf, x=batch: c.features_of_batch(x),
        }
        per_image |= {(p, "browse"): len(batch)}
    measured = timeit({f"{p}:{k}": fn for (p, k), fn in fns.items()}, repeats)
    kinds = ("bare224", "bare448", "predict", "heatmap", "browse")
    table = {p: {k: measured[f"{p}:{k}"] / per_image.get((p, k), 1) for k in kinds} for p in available_precisions()}
    print_table(table)
    return table


WIDTHS = (19, 19, 14, 16, 20)


def print_table(table: dict[str, dict[str, float]]) -> None:
    ref = table["float32"]
    gmacs = {"bare224": vgg16_macs(224, 224) / 1e9, "bare448": vgg16_macs(448, 448) / 1e9}
    print("\nper precision (ms per image; the ratio is to float32 in this same run):")
    heads = ("bare 224", "bare 448", "predict", f"predict+{DEFAULT_METHOD}", "Browse")
    print(f"{'precision':10s} " + " ".join(f"{h:>{w}s}" for h, w in zip(heads, WIDTHS)))
    for p, t in table.items():
        cells = [f"{t[k] * 1000:6.0f} {gmacs[k] / t[k]:5.0f} GMAC/s" for k in ("bare224", "bare448")] + [
            f"{t[k] * 1000:6.0f} ({t[k] / ref[k]:4.2f}x)" for k in ("predict", "heatmap")
        ]
        cells.append(f"{1 / t['browse']:5.1f} img/s ({ref['browse'] / t['browse']:4.2f}x)")
        print(f"{p:10s} " + " ".join(f"{c:>{w}s}" for c, w in zip(cells, WIDTHS)))
    for p, t in table.items():
        if p != "float32":
            print(f"{p} bare 448 forward / float32: {t['bare448'] / ref['bare448']:.2f}x  (goal <= 0.60x)")
