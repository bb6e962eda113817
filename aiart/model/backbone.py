"""VGG16's 13 conv layers as plain Keras layers, so they sit flat in any functional graph.

Building the layers ourselves (instead of nesting `keras.applications.VGG16`) keeps every conv
layer reachable by name for Grad-CAM, and lets the weights come from `vgg_weights`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras

from aiart.model.precision import layer_dtype
from aiart.model.vgg_weights import CONV_LAYERS, Weights, load_vgg16_weights

BLOCKS = {f"block{b}": [n for n in CONV_LAYERS if n.startswith(f"block{b}_")] for b in range(1, 6)}
FILTERS = {"block1": 64, "block2": 128, "block3": 256, "block4": 512, "block5": 512}


def conv_layer(name: str, dtype: str = "float32") -> keras.layers.Conv2D:
    """`dtype`: a Keras dtype policy (`precision.layer_dtype`)."""
    block = name.split("_")[0]
    return keras.layers.Conv2D(FILTERS[block], 3, padding="same", activation="relu", name=name, dtype=dtype)


def copy_conv(source: keras.layers.Layer, trainable: bool = False, dtype: str | None = None) -> keras.layers.Conv2D:
    """A new, built conv layer with `source`'s config and weights (and `dtype`'s policy if given).
    Each conv layer is called in one graph only, so its `.output` (Grad-CAM's tap) is never ambiguous."""
    config = source.get_config()
    if dtype is not None:
        config["dtype"] = dtype
    layer = keras.layers.Conv2D.from_config(config)
    layer.build((None, None, None, int(source.kernel.shape[2])))
    layer.set_weights(source.get_weights())
    layer.trainable = trainable
    return layer


def top_block(taps: Sequence[str]) -> str:
    """The block that holds the deepest tap: the one fine-tuning trains."""
    block = max(taps, key=lambda t: int(t[5])).split("_")[0]
    if block == "block1":
        raise ValueError("fine-tuning needs a tap above block1")
    return block


def block_input(block: str) -> str:
    """Name of the layer that feeds `block`: the pooled output of the block below."""
    return f"block{int(block[5]) - 1}_pool"


def split_taps(taps: Sequence[str]) -> tuple[list[str], list[str]]:
    """(taps below the top block, taps in it); the top block's must come last, as in the features."""
    block = top_block(taps)
    top = [t for t in taps if t.startswith(f"{block}_")]
    if list(taps[len(taps) - len(top) :]) != top:
        raise ValueError(f"taps of {block} must come last to fine-tune it")
    return list(taps[: len(taps) - len(top)]), top


def apply_backbone(
    x: keras.KerasTensor,
    upto: str = "block5_conv3",
    layers: Mapping[str, keras.layers.Layer] | None = None,
    dtype: str = "float32",
) -> dict[str, keras.KerasTensor]:
    """Run the conv stack on `x`; returns each conv layer's output by name (post-ReLU). `layers` are
    existing conv layers to call instead of new ones (a fine-tuned head's copies); new layers get
    the dtype policy `dtype`."""
    layers = layers or {}
    outputs = {}
    for block, names in BLOCKS.items():
        for name in names:
            x = (layers.get(name) or conv_layer(name, dtype))(x)
            outputs[name] = x
            if name == upto:
                return outputs
        x = keras.layers.MaxPooling2D(2, name=f"{block}_pool", dtype=dtype)(x)
    return outputs


def set_backbone_weights(
    model: keras.Model, weights: Weights | None = None, names: Sequence[str] = CONV_LAYERS
) -> None:
    """ImageNet weights into `model`'s conv layers called `names` (frozen)."""
    if not names:
        return
    weights = weights or load_vgg16_weights()
    for name in names:
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        layer.set_weights(list(weights[name]))
        layer.trainable = False


def build_backbone(input_size: int | None = None, precision: str = "float32") -> keras.Model:
    """A bare VGG16 conv base (all 13 outputs), used for features and as the bench reference."""
    inp = keras.Input((input_size, input_size, 3), name="image")
    outputs = apply_backbone(inp, dtype=layer_dtype(precision))
    model = keras.Model(inp, outputs, name="vgg16_conv")
    set_backbone_weights(model)
    return model
