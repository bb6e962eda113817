"""VGG16's 13 conv layers as plain Keras layers, so they sit flat in any functional graph.

Building the layers ourselves (instead of nesting `keras.applications.VGG16`) keeps every conv
layer reachable by name for Grad-CAM, and lets the weights come from `vgg_weights`.
"""

from __future__ import annotations

import keras

from aiart.vgg_weights import CONV_LAYERS, Weights, load_vgg16_weights

BLOCKS = {f"block{b}": [n for n in CONV_LAYERS if n.startswith(f"block{b}_")] for b in range(1, 6)}
FILTERS = {"block1": 64, "block2": 128, "block3": 256, "block4": 512, "block5": 512}


def apply_backbone(x: keras.KerasTensor, upto: str = "block5_conv3") -> dict[str, keras.KerasTensor]:
    """Run the conv stack on `x`; returns each conv layer's output by name (post-ReLU)."""
    outputs = {}
    for block, names in BLOCKS.items():
        for name in names:
            x = keras.layers.Conv2D(FILTERS[block], 3, padding="same", activation="relu", name=name)(x)
            outputs[name] = x
            if name == upto:
                return outputs
        x = keras.layers.MaxPooling2D(2, name=f"{block}_pool")(x)
    return outputs


def set_backbone_weights(model: keras.Model, weights: Weights | None = None) -> None:
    weights = weights or load_vgg16_weights()
    for name in CONV_LAYERS:
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        layer.set_weights(list(weights[name]))
        layer.trainable = False


def build_backbone(input_size: int | None = None) -> keras.Model:
    """A bare VGG16 conv base (all 13 outputs), used for features and as the bench reference."""
    inp = keras.Input((input_size, input_size, 3), name="image")
    outputs = apply_backbone(inp)
    model = keras.Model(inp, outputs, name="vgg16_conv")
    set_backbone_weights(model)
    return model
