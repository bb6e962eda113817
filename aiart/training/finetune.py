"""Fine-tuning the last tapped conv block (block5 for the default model) together with the head.

The slow option of the Train page and `train --finetune-epochs`. Everything below that block stays
frozen, so its input (`block4_pool`) is computed once per image and cached on disk like the pooled
features; an epoch then runs only the tuned block and the head, forward and backward.

The result is one Keras model, `[block4_pool, frozen statistics] -> logit`, that holds the tuned
conv layers and the head's layers under their usual names. `Classifier` calls those layers inside
its own flat graph (see `classifier.tuned_convs`), so Grad-CAM still reaches every conv layer, and the
file is saved, downloaded and loaded like any head (`aiart.model.storage`, which also checks its shapes).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from aiart.data.features import Extractor
from aiart.model.backbone import block_input, copy_conv, split_taps
from aiart.model.backbone import top_block as tuned_block
from aiart.model.classifier import MOMENTS, PLAIN, Classifier, apply_layers, feature_dim, head_chain, top_block_features
from aiart.model.precision import cache_tag
from aiart.model.storage import tuned_inputs
from aiart.training.fit import TrainConfig, balanced_weights, best_epoch_keeper, column, compile_logit_model


def tuned_dim(taps: Sequence[str]) -> int:
    """Length of the tuned taps' part of the feature vector (its tail)."""
    return feature_dim(split_taps(taps)[1])


def pool_extractor(clf: Classifier) -> Extractor:
    """Per image, the frozen input of the tuned block; float16 halves disk and memory (a relative error
    of 1e-3, far below what training notices). Only ImageNet layers lie below it, in any classifier."""
    if clf.info.views != PLAIN:
        raise ValueError(f"fine-tuning runs on the plain view only; this model sees {', '.join(clf.info.views)}")
    if clf.info.moments != MOMENTS:
        raise ValueError(f"fine-tuning reads each channel's mean and std only, not {', '.join(clf.info.moments)}")
    name = block_input(tuned_block(clf.info.taps))
    model = keras.Model(clf.model.input, clf.model.get_layer(name).output, name=f"aiart_{name}")
    spec = tf.TensorSpec((None, clf.input_size, clf.input_size, 3), tf.float32)
    run = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    shape = tuple(int(d) for d in model.output.shape[1:])
    spec = f"{clf.input_size}:{name}{cache_tag(clf.precision)}"
    return Extractor(spec, clf.input_size, shape, np.float16, lambda b: run(b).numpy())


def build_tunable(base: Classifier, head: keras.Model) -> keras.Model:
    """`[pooled input, frozen stats] -> logit` with trainable copies of `base`'s tuned-block convs,
    started from their current weights, and `head`'s own layers (trained further in place)."""
    shapes = tuned_inputs(base.info)
    pooled = keras.Input(shapes[0][1:], name=block_input(tuned_block(base.info.taps)))
    inputs = [pooled] + ([keras.Input(shapes[1][1:], name="frozen_stats")] if len(shapes) > 1 else [])
    feats = top_block_features(
        pooled, inputs[1:], base.info.taps, lambda name: copy_conv(base.model.get_layer(name), trainable=True)
    )
    return keras.Model(inputs, apply_layers(head_chain(head), feats), name="aiart_tuned_head")


def inputs_of(pooled: np.ndarray, feats: np.ndarray, frozen_dim: int) -> tuple[np.ndarray, ...]:
    """The tunable model's inputs: cached pooled activations plus the frozen part of the features."""
    return (pooled,) + ((feats[:, :frozen_dim].astype(np.float32),) if frozen_dim else ())


def dataset(x: tuple[np.ndarray, ...], y: np.ndarray, batch: int, seed: int | None = None) -> tf.data.Dataset:
    """float16 activations stay float16 in memory and become float32 per batch."""
    data = tf.data.Dataset.from_tensor_slices((x, column(y)))
    if seed is not None:
        data = data.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)

    def cast(inputs, target):
        return tuple(tf.cast(t, tf.float32) for t in inputs), target

    return data.batch(batch).map(cast).prefetch(2)


def finetune(
    base: Classifier,
    head: keras.Model,
    x_train: tuple[np.ndarray, ...],
    y_train: np.ndarray,
    x_val: tuple[np.ndarray, ...] | None,
    y_val: np.ndarray | None,
    config: TrainConfig,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    strategy: tf.distribute.Strategy | None = None,
    initial_epoch: int = 0,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train the tuned block and `head` on top of it for `config.finetune_epochs` epochs, numbered
    after `initial_epoch` so live curves go on; keeps the best epoch by validation loss."""
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_tunable(base, head)
        compile_logit_model(model, config.finetune_lr)
    has_val = y_val is not None and len(y_val) > 0
    stops = best_epoch_keeper(has_val, config.patience)
    history = model.fit(
        dataset(x_train, y_train, config.batch_size, config.seed),
        validation_data=dataset(x_val, y_val, 64) if has_val else None,
        initial_epoch=initial_epoch,
        epochs=initial_epoch + config.finetune_epochs,
        shuffle=False,  # the dataset reshuffles itself each epoch
        class_weight=balanced_weights(y_train),
        callbacks=[stops, *callbacks],
        verbose=0,
    )
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def logits(model: keras.Model, x: tuple[np.ndarray, ...]) -> np.ndarray:
    return model.predict(dataset(x, np.zeros(len(x[0])), 64), verbose=0)[:, 0]
