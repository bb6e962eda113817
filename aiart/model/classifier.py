"""The classifier: VGG16 conv base + pooled channel statistics + a small head ending in one logit.

It is one flat functional graph (image -> logit), so every conv layer can be tapped by name for
Grad-CAM. The head is a separate tiny Keras model (features -> logit) that is trained on cached
features, saved as `weights/head.keras`, and spliced into the graph by calling its own layers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras.applications.vgg16 import preprocess_input

from aiart.cam.base import pixels, traced_on_first_call
from aiart.config import CLASS_NAMES, UNSURE
from aiart.data.images import ImageError, ImageSource, open_image, resize_longest, resize_square
from aiart.metrics import sigmoid
from aiart.model.backbone import (
    BLOCKS,
    apply_backbone,
    block_input,
    conv_layer,
    copy_conv,
    set_backbone_weights,
    split_taps,
    top_block,
)
from aiart.model.passes import PASSES
from aiart.model.precision import check_precision, default_precision, layer_dtype
from aiart.model.vgg_weights import CONV_LAYERS

DEFAULT_INPUT_SIZE = 224  # measured: same cross-source accuracy as 256, 0.77x the compute
DEFAULT_TAPS = CONV_LAYERS  # channel mean+std of all 13 conv layers beat any single layer or subset


@tf.custom_gradient
def channel_moments(x: tf.Tensor) -> tuple[tuple[tf.Tensor, tf.Tensor], Callable]:
    """(B, H, W, C) -> float32 per-channel means of x and of x^2 over space, read in x's own format.

    Each row is summed in x's format (the kernels accumulate in float32 and round each row's sum
    once), the rows in float32, and the squares come from row norms, so the map is read twice and no
    float32 copy or squared map is written. A 448 px two-view pass spent 116 ms on the statistics of
    the 13 conv layers that way before and 36 ms this way (bare conv stack: 95 ms); in bfloat16 the
    means and stds moved by 3e-4 of their size (median; 2e-3 at the 99th percentile).
    The gradient is written out: a norm's own is undefined on rows of zeros, which ReLU maps have.
    """
    positions = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
    mean = tf.reduce_sum(tf.cast(tf.reduce_sum(x, axis=2), tf.float32), axis=1) / positions
    norms = tf.cast(tf.math.reduce_euclidean_norm(x, axis=2), tf.float32)
    square = tf.reduce_sum(tf.square(norms), axis=1) / positions

    def grad(d_mean: tf.Tensor, d_square: tf.Tensor) -> tf.Tensor:
        d_mean = tf.cast(d_mean / positions, x.dtype)[:, None, None, :]
        d_square = tf.cast(2 * d_square / positions, x.dtype)[:, None, None, :]
        return d_mean + x * d_square

    return (mean, square), grad


MOMENTS = ("mean", "std")  # every model's statistics; a model may add "active"
EXTRA_MOMENTS = ("active",)


def check_moments(moments: Sequence[str]) -> tuple[str, ...]:
    moments = tuple(moments)
    extra = moments[len(MOMENTS) :]
    known = all(m in EXTRA_MOMENTS for m in extra) and len(set(extra)) == len(extra)
    if moments[: len(MOMENTS)] != MOMENTS or not known:
        raise ValueError(f"statistics must be {', '.join(MOMENTS)}, then any of {', '.join(EXTRA_MOMENTS)}: {moments}")
    return moments


def active_share(x: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) ReLU map -> float32 share of positions where each channel responds at all (x > 0):
    how sparse a texture is, which its mean and std do not say. Each row is counted in x's own format
    (the kernels sum in float32 and round each row's count once), the rows in float32. A step
    function: no gradient."""
    positions = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
    counts = tf.cast(tf.reduce_sum(tf.sign(x), axis=2), tf.float32)
    return tf.stop_gradient(tf.reduce_sum(counts, axis=1) / positions)


@keras.saving.register_keras_serializable(package="aiart")
class ChannelStats(keras.layers.Layer):
    """Per-channel mean and standard deviation over space, and for some models each channel's share
    of active positions: texture statistics that ignore layout.

    It reads the conv map in the map's own format (`channel_moments`) and returns float32, all means,
    then all stds (then all active shares): what `aiart.cam.contribution` splits over positions."""

    def __init__(self, moments: Sequence[str] = MOMENTS, **kwargs):
        super().__init__(**{**kwargs, "autocast": False})
        self.moments = check_moments(moments)

    def call(self, x):
        mean, square = channel_moments(x)
        parts = [mean, keras.ops.sqrt(keras.ops.relu(square - keras.ops.square(mean)) + 1e-6)]
        return keras.ops.concatenate(parts + ([active_share(x)] if "active" in self.moments else []), -1)

    def compute_output_spec(self, x):
        return keras.KerasTensor((x.shape[0], len(self.moments) * x.shape[-1]), dtype="float32")

    def get_config(self):
        return {**super().get_config(), "moments": list(self.moments)}


def stats_name(tap: str) -> str:
    """The name of the `ChannelStats` layer that pools `tap`, in every graph the classifier builds."""
    return f"{tap}_stats"


def high_pass(x):
    """The image minus its nearest-upsampled 2x2 average (NPR, CVPR 2024): what neighbouring pixels
    do not share, where upsampling generators leave their traces. Odd sides average what they have."""
    shape = keras.ops.shape(x)
    down = keras.ops.average_pool(x, 2, 2, padding="same")
    up = keras.ops.repeat(keras.ops.repeat(down, 2, axis=1), 2, axis=2)
    return x - up[:, : shape[1], : shape[2]]


VIEW_FUNCTIONS = {"plain": lambda x: x, "highpass": high_pass}
PLAIN = ("plain",)


def check_views(views: Sequence[str]) -> tuple[str, ...]:
    views = tuple(views)
    unknown = [v for v in views if v not in VIEW_FUNCTIONS]
    if not views or unknown or views[0] != "plain" or len(set(views)) != len(views):
        raise ValueError(f"views must start with 'plain' and name each of {sorted(VIEW_FUNCTIONS)} once, got {views}")
    return views


@keras.saving.register_keras_serializable(package="aiart")
class StackViews(keras.layers.Layer):
    """(B, H, W, 3) -> (k*B, H, W, 3): the k views of each image as one batch, view after view, so
    the one VGG16 runs them all and every conv layer's output (Grad-CAM's tap) holds every view."""

    def __init__(self, views: Sequence[str] = PLAIN, **kwargs):
        super().__init__(**kwargs)
        self.views = check_views(views)

    def call(self, x):
        return keras.ops.concatenate([VIEW_FUNCTIONS[v](x) for v in self.views], axis=0)

    def get_config(self):
        return {**super().get_config(), "views": list(self.views)}


@keras.saving.register_keras_serializable(package="aiart")
class JoinViews(keras.layers.Layer):
    """(k*B, F) -> (B, k*F): each image's feature vector holds its views' statistics side by side."""

    def __init__(self, count: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.count = count

    def call(self, x):
        width = x.shape[-1]
        per_view = keras.ops.reshape(x, (self.count, -1, width))
        return keras.ops.reshape(keras.ops.transpose(per_view, (1, 0, 2)), (-1, self.count * width))

    def get_config(self):
        return {**super().get_config(), "count": self.count}


def feature_layout(
    taps: Sequence[str], views: Sequence[str] = PLAIN, moments: Sequence[str] = MOMENTS
) -> list[tuple[str, str, str]]:
    """(view, tap, statistic) of each column of the feature vector: the order that `ChannelStats`,
    `concat_features` and `JoinViews` give it (per view, each tap's means, then its stds, ...)."""
    from aiart.model.backbone import BLOCKS, FILTERS

    width = {n: FILTERS[b] for b, names in BLOCKS.items() for n in names}
    return [(view, tap, moment) for view in views for tap in taps for moment in moments for _ in range(width[tap])]


def feature_dim(taps: Sequence[str], views: Sequence[str] = PLAIN, moments: Sequence[str] = MOMENTS) -> int:
    return len(feature_layout(taps, views, moments))


def build_feature_graph(
    input_size: int | None,
    taps: Sequence[str],
    layers: Mapping[str, keras.layers.Layer] | None = None,
    dtype: str = "float32",
    views: Sequence[str] = PLAIN,
    moments: Sequence[str] = MOMENTS,
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """image -> concatenated ChannelStats (`moments`) of `taps` (of each of `views`); shared by the
    feature extractor and classifier. `layers`: existing conv layers to call by name instead of new
    ImageNet ones; `dtype`: the conv stack's dtype policy (the statistics always come out float32)."""
    deepest = max(taps, key=CONV_LAYERS.index)
    image = keras.Input((input_size, input_size, 3), name="image")  # None x None: any shape
    x = image if tuple(views) == PLAIN else StackViews(views, name="views")(image)
    convs = apply_backbone(x, upto=deepest, layers=layers, dtype=dtype)
    stats = [ChannelStats(moments, name=stats_name(t))(convs[t]) for t in taps]
    return image, concat_features(stats, len(views))


def concat_features(parts: Sequence[keras.KerasTensor], views: int = 1) -> keras.KerasTensor:
    """The feature vector: the taps' statistics side by side, in taps order (per view, views in order)."""
    joined = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(list(parts))
    return joined if views == 1 else JoinViews(views, name="join_views")(joined)


def top_block_features(
    x: keras.KerasTensor,
    below: Sequence[keras.KerasTensor],
    taps: Sequence[str],
    layer_for: Callable[[str], keras.layers.Layer],
) -> keras.KerasTensor:
    """The top block run on its input `x` with `layer_for(name)` as each conv, its taps' statistics
    appended to `below` (the statistics of the taps under it): the feature vector. Shared by the
    classifier's graph and the fine-tuning model, so both compute the same features."""
    _, top = split_taps(taps)
    parts = list(below)
    for name in BLOCKS[top_block(taps)]:
        x = layer_for(name)(x)
        if name in top:
            parts.append(ChannelStats(name=stats_name(name))(x))
        if name == top[-1]:
            break
    return concat_features(parts)


HEAD_CHAIN = ("standardize", "hidden", "dropout", "logit")  # the layers from features to logit, by name


def head_chain(head: keras.Model) -> list[keras.layers.Layer]:
    """The head's layers from features to logit, in order; a fine-tuned head also holds conv layers."""
    names = {layer.name for layer in head.layers}
    return [head.get_layer(n) for n in HEAD_CHAIN if n in names]


def tuned_convs(head: keras.Model) -> dict[str, keras.layers.Layer]:
    """The VGG16 conv layers a fine-tuned head carries (block5's); empty for a head on frozen features."""
    return {layer.name: layer for layer in head.layers if layer.name in CONV_LAYERS}


def build_head(dim: int, hidden: int = 0, dropout: float = 0.0, l2: float = 0.0) -> keras.Model:
    """features -> standardize -> [Dense(hidden, relu)] -> Dropout -> Dense(1) logit."""
    reg = keras.regularizers.L2(l2) if l2 else None
    inp = keras.Input((dim,), name="features")
    x = keras.layers.Normalization(name="standardize")(inp)
    if hidden:
        x = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=reg, name="hidden")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    logit = keras.layers.Dense(1, kernel_regularizer=reg, name="logit")(x)
    return keras.Model(inp, logit, name="aiart_head")


@dataclass
class HeadInfo:
    """What the head needs to be rebuilt and trusted: saved as JSON beside `head.keras`."""

    input_size: int = DEFAULT_INPUT_SIZE
    taps: tuple[str, ...] = DEFAULT_TAPS
    threshold: float = 0.5
    keep_aspect: bool = False  # True: the longer side is scaled to input_size, the aspect kept
    views: tuple[str, ...] = PLAIN  # what the one VGG16 sees of each image: "plain", "highpass"
    moments: tuple[str, ...] = MOMENTS  # each tapped channel's statistics: mean, std (, active)
    unsure: float = 0.0  # half-width of the "not sure" band of P(AI) around 0.5 (0: always a verdict)
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> HeadInfo:
        raw = json.loads(Path(path).read_text())
        raw["taps"] = tuple(raw["taps"])
        raw["views"] = check_views(raw.get("views", PLAIN))
        raw["moments"] = check_moments(raw.get("moments", MOMENTS))
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def dumps(self) -> str:
        d = dict(self.__dict__, taps=list(self.taps), views=list(self.views), moments=list(self.moments))
        return json.dumps(d, indent=2, sort_keys=True)


def apply_layers(layers: Sequence[keras.layers.Layer], x: keras.KerasTensor) -> keras.KerasTensor:
    for layer in layers:
        x = layer(x)
    return x


def top_block_graph(
    base: Classifier, tuned: Mapping[str, keras.layers.Layer]
) -> tuple[keras.KerasTensor, keras.KerasTensor, list[str]]:
    """`base`'s graph below the top block, reused as is, then that block again with `tuned` layers
    (new ImageNet layers where none is given): (image, features, names of the new layers)."""
    frozen, _ = split_taps(base.info.taps)
    fresh: list[str] = []

    def layer_for(name: str) -> keras.layers.Layer:
        if name in tuned:
            return tuned[name]
        fresh.append(name)
        return conv_layer(name, layer_dtype(base.precision))

    x = base.model.get_layer(block_input(top_block(base.info.taps))).output
    below = [base.model.get_layer(stats_name(t)).output for t in frozen]
    return base.model.input, top_block_features(x, below, base.info.taps, layer_for), fresh


def head_version(head: keras.Model, info: HeadInfo, precision: str = "float32") -> str:
    """Content hash of the head weights, settings and the passes' precision: keys every prediction
    cache, so answers of two precisions or views never mix (float32's plain keys are those from before)."""
    settings = [info.input_size, list(info.taps), info.keep_aspect]
    settings += ([precision] if precision != "float32" else []) + ([list(info.views)] if info.views != PLAIN else [])
    settings += [list(info.moments)] if info.moments != MOMENTS else []
    digest = hashlib.sha256(json.dumps(settings).encode())
    for w in head.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def to_batch(images: Iterable, size: int, keep_aspect: bool = False) -> np.ndarray:
    """RGB PIL images -> (N, H, W, 3) float32 through VGG16's own `preprocess_input`.

    With `keep_aspect` every image must come out the same shape (one image, or copies of one).
    """
    resize = resize_longest if keep_aspect else resize_square
    arrays = [resize(img, size) for img in images]
    return preprocess_input(np.stack(arrays)) if arrays else np.zeros((0, size, size, 3), np.float32)


def batches(
    images: Sequence, size: int, keep_aspect: bool = False, batch_size: int = 16, views: int = 1
) -> Iterator[tuple[list[int], np.ndarray]]:
    """(indices, batch) over `images`, same-shaped inputs together, in batches of about
    `batch_size` 224x224 images' worth of pixels in the pass, so neither a larger input size nor a
    model that sees each picture `views` times multiplies memory."""
    per_batch = max(1, batch_size * DEFAULT_INPUT_SIZE**2 // (views * size**2))
    resize = resize_longest if keep_aspect else resize_square
    by_shape: dict[tuple, list[tuple[int, np.ndarray]]] = {}
    for i, img in enumerate(images):
        arr = resize(img, size)
        group = by_shape.setdefault(arr.shape, [])
        group.append((i, arr))
        if len(group) == per_batch:
            yield [j for j, _ in group], preprocess_input(np.stack([a for _, a in group]))
            group.clear()
    for group in by_shape.values():
        if group:
            yield [j for j, _ in group], preprocess_input(np.stack([a for _, a in group]))


@dataclass
class Verdict:
    p_ai: float | None = None
    label: str | None = None
    error: str | None = None


class Classifier:
    """P(AI-generated) for images, from one flat graph; thread-safe to share between sessions."""

    def __init__(
        self,
        head: keras.Model,
        info: HeadInfo,
        share_backbone_with: Classifier | None = None,
        precision: str | None = None,
    ):
        """`share_backbone_with`: reuse that classifier's frozen conv layers (same input size, taps and
        precision) instead of building a second VGG16, so each model a student keeps costs only its head.
        `precision`: the conv stack's number format (`aiart.model.precision`); default: this CPU's fastest.

        A fine-tuned head carries its own conv layers (see `aiart.training.finetune`): they replace the
        ImageNet ones of the same name, and the graph stays flat either way.
        """
        self.head = head
        self.info = info
        self.trained_on: frozenset[str] = frozenset()  # content hashes of its training images, when known
        self.input_size = info.input_size
        self.keep_aspect = info.keep_aspect
        self.threshold = info.threshold
        self.precision = check_precision(precision or default_precision())
        dtype = layer_dtype(self.precision)
        self.version = head_version(head, info, self.precision)
        tuned = {name: copy_conv(layer, dtype=dtype) for name, layer in tuned_convs(head).items()}
        self.tuned = tuple(tuned)
        self.backbone_version = "imagenet" if not tuned else self.version
        base = share_backbone_with
        if tuned and (info.views, info.moments) != (PLAIN, MOMENTS):
            raise ValueError("a fine-tuned block runs on the plain view and the mean and std only")
        if (
            base is None
            or (base.input_size, base.info.taps, base.keep_aspect, base.precision, base.info.views)
            != (
                info.input_size,
                info.taps,
                info.keep_aspect,
                self.precision,
                info.views,
            )
            or base.info.moments != info.moments
        ):
            side = None if info.keep_aspect else info.input_size
            image, feats = build_feature_graph(side, info.taps, tuned, dtype, info.views, info.moments)
            fresh = [n for n in CONV_LAYERS if n not in tuned]
        elif not tuned and not base.tuned:
            image, feats, fresh = base.features_model.input, base.features_model.output, []
        else:
            image, feats, fresh = top_block_graph(base, tuned)
        chain = head_chain(head)
        self.model = keras.Model(image, apply_layers(chain, feats), name="aiart_classifier")
        set_backbone_weights(self.model, names=fresh)
        self.features_model = keras.Model(image, feats, name="aiart_features")
        features = keras.Input((feats.shape[-1],), name="features")
        self.scorer = keras.Model(features, apply_layers(chain, features), name="aiart_scorer")  # features -> logit
        self.conv_layers = tuple(n for n in CONV_LAYERS if n in {layer.name for layer in self.model.layers})
        side = None if self.keep_aspect else self.input_size
        spec = tf.TensorSpec((None, side, side, 3), tf.float32)
        once = traced_on_first_call  # no two threads build graphs through the same layers at once
        self._logits = once(tf.function(lambda x: self.model(x, training=False), input_signature=[spec]))
        self._features = once(tf.function(lambda x: self.features_model(x, training=False), input_signature=[spec]))
        self._head = once(
            tf.function(
                lambda f: self.scorer(f, training=False),
                input_signature=[tf.TensorSpec((None, feats.shape[-1]), tf.float32)],
            )
        )

    # -- batches of preprocessed arrays -------------------------------------------------------
    def gate(self, count: int):
        """Hold the process's pixel budget for a pass over `count` input pixels: every view is a pass."""
        return PASSES.hold(count * len(self.info.views))

    def logits_of_batch(self, batch: np.ndarray) -> np.ndarray:
        with self.gate(pixels(batch)):
            return self._logits(tf.convert_to_tensor(batch, tf.float32)).numpy()[:, 0]

    def features_of_batch(self, batch: np.ndarray) -> np.ndarray:
        with self.gate(pixels(batch)):
            return self._features(tf.convert_to_tensor(batch, tf.float32)).numpy()

    def logits_of_features(self, feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros(0)
        return self._head(tf.convert_to_tensor(feats, tf.float32)).numpy()[:, 0]

    # -- PIL images ---------------------------------------------------------------------------
    def to_batch(self, images: Iterable) -> np.ndarray:
        """The model's input for images of one shape (one image, or copies of it)."""
        return to_batch(images, self.input_size, self.keep_aspect)

    def logits_of_images(self, images: Sequence, batch_size: int = 16) -> np.ndarray:
        """One logit per image, whatever their shapes, in batches of bounded memory."""
        logits = np.zeros(len(images))
        for idx, batch in batches(images, self.input_size, self.keep_aspect, batch_size, len(self.info.views)):
            logits[idx] = self.logits_of_batch(batch)
        return logits

    # -- user-facing --------------------------------------------------------------------------
    def classify(self, items: Sequence[ImageSource], batch_size: int = 16) -> list[Verdict]:
        """One verdict per item; a file that fails to decode gets its error, the rest go on."""
        verdicts = [Verdict() for _ in items]
        good: list[tuple[int, object]] = []
        for i, item in enumerate(items):
            try:
                good.append((i, open_image(item)))
            except ImageError as exc:
                verdicts[i].error = str(exc)
        for start in range(0, len(good), batch_size):
            chunk = good[start : start + batch_size]
            logits = self.logits_of_images([img for _, img in chunk], batch_size)
            for (i, _), p in zip(chunk, sigmoid(logits)):
                verdicts[i].p_ai, verdicts[i].label = float(p), self.verdict(float(p))
        return verdicts

    def predict(
        self, items: Sequence[ImageSource] | ImageSource, batch_size: int = 16, errors: str = "raise"
    ) -> np.ndarray:
        """P(AI) in [0, 1] per item (paths, bytes or PIL images); `errors="nan"` marks bad files NaN."""
        if isinstance(items, (str, Path, bytes)) or not isinstance(items, Sequence):
            items = [items]
        verdicts = self.classify(items, batch_size)
        bad = [f"item {i}: {v.error}" for i, v in enumerate(verdicts) if v.error]
        if bad and errors == "raise":
            raise ImageError("; ".join(bad))
        return np.array([np.nan if v.p_ai is None else v.p_ai for v in verdicts])

    def label(self, p_ai: float) -> str:
        """A threshold on one probability, never argmax over a single output."""
        return CLASS_NAMES[0] if p_ai >= self.threshold else CLASS_NAMES[1]

    def verdict(self, p_ai: float) -> str:
        """The label, or UNSURE inside the band around 0.5 where the model is measured to guess."""
        return UNSURE if abs(p_ai - 0.5) < self.info.unsure else self.label(p_ai)


def untrained_classifier(info: HeadInfo | None = None) -> Classifier:
    """A classifier with a fresh head: enough to compute (and cache) features before any training."""
    info = info or HeadInfo()
    return Classifier(build_head(feature_dim(info.taps, info.views, info.moments)), info)
