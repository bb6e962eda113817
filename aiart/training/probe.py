"""The shipped head: a logistic-regression probe (scikit-learn) on standardized VGG16 statistics,
turned into the Keras head that the classifier's flat graph splices in.

Measured on sources it never saw, a linear probe beat the MLP head (see the README's model card):
with 8,448 features and a few thousand images, the simpler model generalizes better.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from aiart.model.classifier import build_head

DEFAULT_C = 0.01  # fixed before measuring; the yardstick was flat from 0.003 to 0.1

Scorer = Callable[[np.ndarray], np.ndarray]  # features -> logits


def fit_probe(x: np.ndarray, y: np.ndarray, c: float = DEFAULT_C) -> Pipeline:
    """Standardize, then L2 logistic regression with both classes weighted equally."""
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    return make_pipeline(StandardScaler(), model).fit(np.asarray(x, np.float64), y)


def probe_fitter(c: float = DEFAULT_C) -> Callable[[np.ndarray, np.ndarray], Scorer]:
    """(x, y) -> a function giving logits: what the yardstick fits in every fold."""

    def fit(x: np.ndarray, y: np.ndarray) -> Scorer:
        pipe = fit_probe(x, y, c)
        return lambda q: pipe.decision_function(np.asarray(q, np.float64))

    return fit


def probe_head(pipe: Pipeline) -> keras.Model:
    """The same probe as a Keras head (standardize -> Dense(1) logit), to splice into the graph."""
    scaler, model = pipe[0], pipe[-1]
    head = build_head(len(scaler.mean_))
    norm = head.get_layer("standardize")
    _, _, count = norm.get_weights()
    norm.set_weights([scaler.mean_.astype(np.float32), (scaler.scale_**2).astype(np.float32), count])
    norm.finalize_state()  # Normalization caches its mean/variance tensors; refresh them
    head.get_layer("logit").set_weights([model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)])
    return head
