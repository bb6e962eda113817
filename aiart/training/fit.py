"""Train the head on cached features: seconds, not minutes, because the conv base is frozen.

Never imports Streamlit: the Train page and the CLI pass Keras callbacks for progress and stop.
The same code runs on one CPU, one GPU or several (pass a `tf.distribute` strategy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from aiart.model.classifier import build_head


@dataclass
class TrainConfig:
    hidden: int = 0  # 0 = a linear (logistic) head on standardized features: it generalized best
    dropout: float = 0.0
    learning_rate: float = 1e-3
    l2: float = 1e-2
    epochs: int = 60
    batch_size: int = 64
    patience: int = 10
    seed: int = 0
    finetune_epochs: int = 0  # > 0: then also train the last tapped conv block (block5) with the head
    finetune_lr: float = 1e-5

    def as_dict(self) -> dict:
        return asdict(self)


def balanced_weights(y: np.ndarray) -> dict[int, float]:
    """Class weights so each class counts equally (the data is 42% AI)."""
    counts = np.bincount(y.astype(int), minlength=2)
    return {c: float(len(y) / (2 * max(n, 1))) for c, n in enumerate(counts)}


def adapt_standardize(head: keras.Model, x: np.ndarray, floor: float = 1e-4) -> None:
    """Fit the standardization, with a variance floor relative to the median channel.

    A channel that is constant on a small training set (a dead ReLU on 12 class photos) would
    otherwise be divided by ~0 and blow up on the first validation image where it fires.
    """
    layer = head.get_layer("standardize")
    layer.adapt(x)
    mean, var, count = layer.get_weights()
    layer.set_weights([mean, np.maximum(var, floor * float(np.median(var)) + 1e-6), count])
    layer.finalize_state()  # Normalization caches mean/variance tensors; refresh them


def column(y: np.ndarray) -> np.ndarray:
    """Labels as float32 (N, 1), the logit's shape: the log-loss metric, unlike the loss, needs it."""
    return np.asarray(y, np.float32).reshape(-1, 1)


def compile_logit_model(model: keras.Model, learning_rate: float) -> None:
    """Adam on the log-loss of a logit; accuracy thresholds the logit at 0 (P = 0.5).

    Keras's `loss` includes the L2 penalty, which keeps falling as weights shrink whatever the data
    says; the `log_loss` metric is the data's own log-loss, the one to plot and to stop on.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0),
            keras.metrics.BinaryCrossentropy(from_logits=True, name="log_loss"),
        ],
    )


def monitored(has_val: bool) -> str:
    """What picks the best epoch: validation log-loss, or the training one without validation."""
    return "val_log_loss" if has_val else "log_loss"


def best_epoch_keeper(has_val: bool, patience: int) -> keras.callbacks.EarlyStopping:
    """Stops after `patience` epochs without a better (validation) log-loss and restores the best epoch."""
    return keras.callbacks.EarlyStopping(monitor=monitored(has_val), patience=patience, restore_best_weights=True)


def fit_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    config: TrainConfig | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    strategy: tf.distribute.Strategy | None = None,
    initial: keras.Model | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit features -> logit; keeps the epoch with the best validation loss (or the last)."""
    config = config or TrainConfig()
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        head = initial or build_head(x_train.shape[1], config.hidden, config.dropout, config.l2)
        if initial is None:
            adapt_standardize(head, x_train)
        compile_logit_model(head, config.learning_rate)
    has_val = x_val is not None and len(x_val) > 0
    stops = [best_epoch_keeper(has_val, config.patience)]
    # tf.data pipelines built once: a third faster than handing numpy to fit() (which re-adapts the
    # arrays every epoch), and the form tf.distribute strategies shard across devices.
    train = (
        tf.data.Dataset.from_tensor_slices((x_train.astype(np.float32), column(y_train)))
        .shuffle(len(x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .prefetch(2)
    )
    val = (
        tf.data.Dataset.from_tensor_slices((x_val.astype(np.float32), column(y_val))).batch(config.batch_size).cache()
        if has_val
        else None
    )
    history = head.fit(
        train,
        validation_data=val,
        epochs=config.epochs,
        shuffle=False,  # the dataset reshuffles itself each epoch
        class_weight=balanced_weights(y_train),
        callbacks=[*stops, *callbacks],
        verbose=0,
    )
    return head, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def fold_calibration(head: keras.Model, a: float, b: float) -> None:
    """Bake P = sigmoid(a * logit + b) into the logit layer, so the model's own sigmoid is calibrated."""
    layer = head.get_layer("logit")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel * a, bias * a + b])
