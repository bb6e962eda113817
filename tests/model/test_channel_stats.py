"""The channel statistics: the same numbers and gradients as the textbook formulas, in either format."""

import numpy as np
import pytest
import tensorflow as tf

from aiart.model.classifier import ChannelStats, channel_moments


def relu_map(dtype: tf.DType, shape=(2, 9, 7, 5), seed: int = 0) -> tf.Tensor:
    """A ReLU-like map with a channel of zeros and zero rows, where a norm's own gradient is undefined."""
    x = np.maximum(np.random.default_rng(seed).normal(0.5, 1.0, shape), 0).astype(np.float32)
    x[..., 0] = 0
    x[:, 3] = 0
    return tf.cast(tf.constant(x), dtype)


def textbook(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    x = tf.cast(x, tf.float32)
    return tf.reduce_mean(x, axis=[1, 2]), tf.reduce_mean(tf.square(x), axis=[1, 2])


@pytest.mark.parametrize("dtype, tol", [(tf.float32, 1e-6), (tf.bfloat16, 4e-3)])
def test_moments_match_the_definition(dtype, tol):
    x = relu_map(dtype)
    for got, want in zip(channel_moments(x), textbook(x)):
        assert got.dtype == tf.float32
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(tf.float32, 1e-6), (tf.bfloat16, 2e-2)])
def test_gradient_is_the_definitions_and_finite_on_zero_rows(dtype, tol):
    x = relu_map(dtype)
    w_mean, w_square = (tf.constant(np.random.default_rng(s).normal(size=(2, 5)), tf.float32) for s in (1, 2))

    def grad(moments):
        with tf.GradientTape() as tape:
            tape.watch(x)
            mean, square = moments(x)
            score = tf.reduce_sum(mean * w_mean + square * w_square)
        return tf.cast(tape.gradient(score, x), tf.float32).numpy()

    got = grad(channel_moments)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, grad(textbook), rtol=tol, atol=tol)


def test_layer_returns_float32_means_then_stds_without_casting_its_input():
    x = relu_map(tf.bfloat16)
    out = ChannelStats()(x).numpy()
    mean, square = (m.numpy() for m in textbook(x))
    assert out.dtype == np.float32 and out.shape == (2, 10)
    np.testing.assert_allclose(out[:, :5], mean, atol=4e-3)
    np.testing.assert_allclose(out[:, 5:], np.sqrt(np.maximum(square - mean**2, 0) + 1e-6), atol=1e-2)
