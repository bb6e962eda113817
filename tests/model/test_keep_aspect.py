"""The shipped model keeps each picture's aspect ratio: every path that feeds it must accept inputs
that are not square (batches, features, cache keys, every CAM method on every layer, the trust
checks, saving and loading)."""

import numpy as np
import pytest

from aiart.cam import METHODS
from aiart.data.features import FeatureStore
from aiart.explain import explain
from aiart.model.classifier import Classifier, HeadInfo, batches
from aiart.model.storage import load_classifier, save_head
from aiart.trust import faithfulness, robustness, sanity
from tests.conftest import SMALL_TAPS, synthetic_art

WIDE = (40, 64)  # (height, width) of a landscape picture; the model reads its longer side at 64 px
TALL = (80, 48)  # scaled to 64 x 38


@pytest.fixture(scope="module")
def aspect_clf(small_classifier) -> Classifier:
    """The small test model, reading pictures with the longer side at 64 px and the aspect kept."""
    return Classifier(small_classifier.head, HeadInfo(input_size=64, taps=SMALL_TAPS, keep_aspect=True))


@pytest.fixture
def wide():
    return synthetic_art(1, True, WIDE)


def test_a_wide_picture_keeps_its_shape(aspect_clf, small_classifier, wide):
    assert aspect_clf.to_batch([wide]).shape == (1, 40, 64, 3)
    assert small_classifier.to_batch([wide]).shape == (1, 32, 32, 3)
    p = aspect_clf.predict([wide, synthetic_art(2, False, TALL)])
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


def test_batches_group_pictures_by_shape(wide):
    images = [wide, synthetic_art(2, False, TALL), synthetic_art(3, True, WIDE)]
    got = {tuple(idx): batch.shape for idx, batch in batches(images, 64, keep_aspect=True, batch_size=8)}
    assert got == {(0, 2): (2, 40, 64, 3), (1,): (1, 64, 38, 3)}


def test_features_are_cached_apart_from_the_square_models(aspect_clf, small_classifier, wide, tmp_path, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    aspect, square = FeatureStore(aspect_clf), FeatureStore(small_classifier)
    assert aspect.root != square.root
    x, errors = aspect.compute([wide])
    assert errors == [None]
    np.testing.assert_allclose(x[0], aspect_clf.features_of_batch(aspect_clf.to_batch([wide]))[0], rtol=1e-5)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "scorecam"])
@pytest.mark.parametrize("layer", ["block1_conv2", "block2_conv2", "block3_conv3"])
def test_every_method_and_layer_maps_a_wide_picture(aspect_clf, wide, method, layer):
    exp = explain(aspect_clf, wide, layer=layer, method=method)
    assert exp.heatmap.shape == WIDE and np.isfinite(exp.heatmap).all()
    assert 0 <= exp.heatmap.min() <= exp.heatmap.max() <= 1


def test_scorecam_maps_a_wide_picture(aspect_clf, wide):
    assert explain(aspect_clf, wide, method="scorecam").heatmap.shape == WIDE


def test_trust_checks_accept_a_wide_picture(aspect_clf, wide):
    res = faithfulness.evaluate(aspect_clf, wide, steps=4, random_orders=2)
    for c in [*res.methods.values(), res.random]:
        assert c.deletion[0] == pytest.approx(res.p_class, abs=1e-5)
        assert c.insertion[-1] == pytest.approx(res.p_class, abs=1e-5)
    san = sanity.sanity_check(aspect_clf, wide, methods=("gradcam",), blocks=1)
    assert all(np.isfinite(v).all() for v in san.correlations.values())
    assert len(robustness.probe(aspect_clf, wide).rows) > 3


def test_cell_index_covers_a_wide_input_evenly():
    cells = faithfulness.cell_index(20, 32, 4)
    assert cells.shape == (20, 32) and set(np.unique(cells)) == set(range(16))
    assert np.bincount(cells.ravel()).min() == 5 * 8


def test_keep_aspect_survives_saving(aspect_clf, wide, tmp_path):
    save_head(aspect_clf.head, aspect_clf.info, tmp_path / "aspect.keras")
    back = load_classifier(tmp_path / "aspect.keras")
    assert back.keep_aspect and back.input_size == 64
    np.testing.assert_allclose(back.predict([wide]), aspect_clf.predict([wide]), rtol=1e-5)
