"""The shared CAM pipeline: one compiled gradient function per (model, layer), then a hook.

A method only says how to weigh the activations (`channel_weights`) or how to combine them per
pixel (`cam_image`); the base owns the tape, ReLU, normalisation (with an epsilon) and resizing.
The target is the *signed logit*: +logit explains AI_GENERATED, -logit NON_AI_GENERATED, so the
gradients never vanish the way a saturated sigmoid's do.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import Callable

import cv2
import keras
import numpy as np
import tensorflow as tf

EPS = 1e-7
Gate = Callable[[int], contextlib.AbstractContextManager]  # pixels of a pass -> held while it runs


def no_gate(pixels: int) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def pixels(x) -> int:
    """Pixels in an (N, H, W, C) batch: what a pass's memory grows with."""
    return int(x.shape[0]) * int(x.shape[1]) * int(x.shape[2])


_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()  # held while a graph is built through Keras layers (see `cached`)


def split_layers(layer: str) -> tuple[str, ...]:
    """'block3_conv3' -> one layer; 'block2_conv2+block5_conv3' -> several, whose maps are averaged
    (as pytorch-grad-cam does with several target layers): fine detail and large shapes in one map."""
    layers = tuple(part.strip() for part in layer.split("+"))
    if not all(layers) or len(set(layers)) != len(layers):
        raise ValueError(f"layer {layer!r}: name conv layers joined by '+', each once")
    return layers


def conv_output(model: keras.Model, layer: str) -> keras.KerasTensor:
    try:
        out = model.get_layer(layer).output
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer {layer!r}") from None
    if len(out.shape) != 4:
        raise ValueError(f"layer {layer!r} has output shape {out.shape}; CAM needs a conv layer (rank 4)")
    return out


def compiled(model: keras.Model, layer: str, kind: str):
    """`kind="grad"`: x, sign -> (acts, d(sign*logit)/d acts, logit); `"forward"`: x -> (acts, logit);
    acts and grads hold one (B, h, w, C) map per layer of `layer` (see `split_layers`), all from one
    pass and one backward pass. Maps come back as float32 whatever the conv layers compute in.

    Traced once per model, layer and kind (the input signature is fixed), shared by all threads.
    """
    return cached(model, (layer, kind), lambda: trace(model, layer, kind))


def cached(model: keras.Model, key: tuple, build: Callable[[], Callable]):
    """`build()` once per model and key, and traced at once, under a lock: every thread shares one
    traced function, and no two threads build graphs through the same Keras layers at the same time
    (a full test run once saw a conv layer traced without its bfloat16 autocast while sessions traced
    at once)."""
    with _LOCK:
        per_model = _FUNCTIONS.setdefault(model, {})
        if key not in per_model:
            fn = build()
            fn.get_concrete_function()  # every function here has a full input_signature
            per_model[key] = fn
        return per_model[key]


def between_traces(fn: Callable) -> Callable:
    """`fn`, run only while no thread traces a graph here (it waits for the lock every trace holds).

    For `keras.backend.clear_session`, which Streamlit calls after every script run: it replaces
    Keras's thread-local state for all threads at once, so a session tracing at that moment loses its
    bfloat16 autocast mid-trace and a conv layer meets a float32 kernel (the replicas test saw it)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _LOCK:
            return fn(*args, **kwargs)

    run.between_traces = True
    return run


def traced_on_first_call(fn):
    """A tf.function with a full input_signature, traced on its first call under the lock that
    `cached` holds, so a model's own passes never trace beside a CAM function either."""
    ready = threading.Event()

    def call(*args):
        if not ready.is_set():
            with _LOCK:
                fn.get_concrete_function()
                ready.set()
        return fn(*args)

    return call


def input_spec(model: keras.Model) -> tf.TensorSpec:
    """Any batch of the model's input shape, so each function is traced once."""
    return tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)


def as_float(maps) -> tuple:
    return tuple(tf.cast(m, tf.float32) for m in maps)


def trace(model: keras.Model, layer: str, kind: str):
    taps = [conv_output(model, name) for name in split_layers(layer)]
    tap = keras.Model(model.inputs, [*taps, model.outputs[0]])
    spec = input_spec(model)
    if kind == "grad":

        @tf.function(input_signature=[spec, tf.TensorSpec((), tf.float32)])
        def fn(x, sign):
            with tf.GradientTape() as tape:
                *acts, logit = tap(x, training=False)
                tape.watch(acts)
                score = sign * tf.reduce_sum(logit)
            grads = tape.gradient(score, acts)
            return as_float(acts), as_float(grads), logit[:, 0]

    else:

        @tf.function(input_signature=[spec])
        def fn(x):
            *acts, logit = tap(x, training=False)
            return as_float(acts), logit[:, 0]

    return fn


def normalize(cams: np.ndarray) -> np.ndarray:
    """ReLU, then min-max per map; an all-zero map stays zero instead of becoming NaN."""
    cams = np.maximum(cams, 0)
    lo = cams.min(axis=(1, 2), keepdims=True)
    hi = cams.max(axis=(1, 2), keepdims=True)
    return (cams - lo) / (hi - lo + EPS)


def fold_views(cams: np.ndarray, images: int) -> np.ndarray:
    """(k*B, h, w) -> (B, h, w): a model that runs k views of each image as one batch (view after
    view, same size) gets one map per image, the sum of its views' maps, since the score sums what
    every view contributes. A map per image passes through."""
    return cams.reshape(-1, images, *cams.shape[1:]).sum(axis=0)


def resize_maps(cams: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(B, h, w) -> (B, H, W) with `size=(H, W)`, bilinear, kept in [0, 1]."""
    h, w = size
    out = [cv2.resize(c.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) for c in cams]
    return np.clip(np.stack(out), 0.0, 1.0) if out else np.zeros((0, h, w), np.float32)


class BaseCAM:
    """Call with a preprocessed batch and a target sign; returns maps in [0, 1] and the logits."""

    name = "base"
    uses_gradients = True
    linear = False  # True: the map is linear in the target score, so -logit's map is minus +logit's
    slow = False  # True: many passes per map, so checks that compare methods leave it out unless asked

    def __init__(self, model: keras.Model, layer: str, gate: Gate = no_gate):
        """`gate(pixels)` is held around every compiled pass, e.g. a server's budget of pixels in flight."""
        self.model = model
        self.layer = layer
        self.gate = gate
        # Each pooling layer's name -> (what it pooled, the logit's gradient with respect to that), from
        # the last pass, for a method whose pass computes them anyway (the contribution map): then
        # `aiart.breakdown` splits the score by block without a pass of its own. Empty for the others.
        self.statistics: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def activations(self, x: np.ndarray, sign: float) -> tuple[list[np.ndarray], list | None, np.ndarray]:
        """Each layer's activations, and their gradients for a gradient method, and the logits."""
        xt = tf.convert_to_tensor(x, tf.float32)
        with self.gate(pixels(x)):
            if self.uses_gradients:
                acts, grads, logits = compiled(self.model, self.layer, "grad")(xt, tf.constant(sign, tf.float32))
                return [a.numpy() for a in acts], [g.numpy() for g in grads], logits.numpy()
            acts, logits = compiled(self.model, self.layer, "forward")(xt)
            return [a.numpy() for a in acts], None, logits.numpy()

    def channel_weights(self, acts: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """(B, h, w, C) -> (B, C). Override this, or `cam_image` for per-pixel methods."""
        raise NotImplementedError

    def cam_image(self, acts: np.ndarray, grads: np.ndarray | None, x: np.ndarray, sign: float) -> np.ndarray:
        weights = self.channel_weights(acts, grads)
        return np.einsum("bhwc,bc->bhw", acts, weights)

    def __call__(
        self, x: np.ndarray, sign: float = 1.0, size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        maps, logits = self.for_signs(x, (sign,), size)
        return maps[float(sign)], logits

    def for_signs(
        self, x: np.ndarray, signs: tuple[float, ...] = (1.0, -1.0), size: tuple[int, int] | None = None
    ) -> tuple[dict[float, np.ndarray], np.ndarray]:
        """{sign: maps in [0, 1]} and the logits. A `linear` method's map for -logit is minus its map for
        +logit before the ReLU, so one pass serves both targets; any other method runs a pass per sign."""
        for sign in signs:
            if sign not in (1.0, -1.0, 1, -1):
                raise ValueError(f"sign must be +1 (AI_GENERATED) or -1 (NON_AI_GENERATED), got {sign}")
        size = size or tuple(x.shape[1:3])
        if self.linear:
            raw, logits = self.raw_maps(x, 1.0)
            return {float(s): self.finish([s * r for r in raw], size) for s in signs}, logits
        maps = {}
        for sign in signs:
            raw, logits = self.raw_maps(x, float(sign))
            maps[float(sign)] = self.finish(raw, size)
        return maps, logits

    def raw_maps(self, x: np.ndarray, sign: float) -> tuple[list[np.ndarray], np.ndarray]:
        """One signed (B, h, w) map per layer of `layer` (each picture's views summed), before the ReLU."""
        acts, grads, logits = self.activations(x, sign)
        raw = [fold_views(self.cam_image(a, g, x, sign), len(x)) for a, g in zip(acts, grads or [None] * len(acts))]
        return raw, logits

    @staticmethod
    def finish(raw: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
        """ReLU and min-max per layer, resized to `size`; several layers' maps averaged (and normalized again)."""
        maps = [resize_maps(normalize(r), size) for r in raw]
        return maps[0] if len(maps) == 1 else normalize(np.mean(maps, axis=0))
