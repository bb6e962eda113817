"""The score's breakdown by view and block adds up to the logit's distance from the average picture's."""

import numpy as np
import pytest

from aiart.breakdown import breakdown, feature_groups
from aiart.explain import explain
from aiart.model.classifier import Classifier, HeadInfo, build_head, feature_dim
from tests.conftest import synthetic_art

TAPS = ("block1_conv2", "block2_conv1", "block3_conv3")


def classifier(views: tuple[str, ...], hidden: int = 0) -> Classifier:
    dim = feature_dim(TAPS, views)
    head = build_head(dim, hidden=hidden)
    head.get_layer("standardize").adapt(np.random.default_rng(0).normal(size=(16, dim)) * 2 + 1)
    rng = np.random.default_rng(1)
    head.set_weights(
        [w if i < 3 else rng.normal(size=w.shape).astype(np.float32) for i, w in enumerate(head.get_weights())]
    )
    return Classifier(head, HeadInfo(input_size=32, taps=TAPS, views=views), precision="float32")


@pytest.mark.parametrize("views", [("plain",), ("plain", "highpass")])
def test_a_linear_heads_shares_add_up_exactly(views):
    clf = classifier(views)
    b = breakdown(clf, synthetic_art(1, True))
    assert list(b.shares) == [(v, f"block{n}") for v in views for n in (1, 2, 3)]
    assert b.logit == pytest.approx(float(clf.logits_of_images([synthetic_art(1, True)])[0]), abs=1e-4)
    assert b.average + sum(b.shares.values()) == pytest.approx(b.logit, rel=1e-5, abs=1e-3)
    rows = b.by_block()
    assert list(rows) == ["block1", "block2", "block3"] and all(list(r) == list(views) for r in rows.values())


def test_a_deeper_heads_shares_are_its_gradient_times_the_move():
    """First order only: the shares exist and are finite; they need not add up to the logit."""
    b = breakdown(classifier(("plain",), hidden=8), synthetic_art(2, False))
    assert np.isfinite(list(b.shares.values())).all() and np.isfinite([b.logit, b.average]).all()


def test_feature_groups_follow_the_feature_vector():
    clf = classifier(("plain", "highpass"))
    groups = feature_groups(clf)
    assert len(groups) == feature_dim(TAPS, clf.info.views)
    assert groups[0] == ("plain", "block1") and groups[2 * 64] == ("plain", "block2")  # 64 means + 64 stds
    assert groups[len(groups) // 2] == ("highpass", "block1") and groups[-1] == ("highpass", "block3")


@pytest.mark.parametrize(("views", "hidden"), [(("plain",), 0), (("plain", "highpass"), 0), (("plain", "highpass"), 8)])
def test_the_contribution_maps_pass_gives_the_same_breakdown(views, hidden):
    """A card's explanation pass carries the breakdown (its statistics and their gradient), laid out as
    the head reads them: the same numbers as the features pass, so opening it runs nothing."""
    clf = classifier(views, hidden=hidden)
    image = synthetic_art(3, True)
    exp = explain(clf, image, method="contribution", layer="block3_conv3")
    alone = breakdown(clf, image)
    assert list(exp.breakdown.shares) == list(alone.shares)
    np.testing.assert_allclose(list(exp.breakdown.shares.values()), list(alone.shares.values()), rtol=1e-4, atol=1e-5)
    assert exp.breakdown.logit == pytest.approx(alone.logit, abs=1e-5)
    assert exp.breakdown.average == alone.average
    assert explain(clf, image, method="hirescam", layer="block3_conv3").breakdown is None  # no statistics: none
