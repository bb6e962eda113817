"""A model that sees each picture twice, plain and high-passed, in one batch through the one VGG16:
the features hold both views' statistics, every heatmap folds both views into one map per picture,
and caches, versions, saving and the trust checks keep the two kinds of model apart."""

import itertools

import keras
import numpy as np
import pytest

from aiart.cam import METHODS
from aiart.cam.base import compiled, normalize
from aiart.data.features import FeatureStore
from aiart.explain import explain
from aiart.model.classifier import (
    Classifier,
    HeadInfo,
    batches,
    check_views,
    feature_dim,
    feature_layout,
    high_pass,
)
from aiart.model.storage import ModelFileError, load_classifier, save_head
from aiart.training import finetune
from aiart.trust import faithfulness, robustness, sanity
from tests.conftest import SMALL_TAPS, random_head, synthetic_art

BOTH = ("plain", "highpass")
WIDE = (40, 63)  # an odd side on purpose


@pytest.fixture(scope="module")
def views_clf() -> Classifier:
    head = random_head(feature_dim(SMALL_TAPS, BOTH), 5, 1)
    return Classifier(head, HeadInfo(input_size=64, taps=SMALL_TAPS, keep_aspect=True, views=BOTH))


@pytest.fixture(scope="module")
def plain_clf(small_classifier) -> Classifier:
    return Classifier(small_classifier.head, HeadInfo(input_size=64, taps=SMALL_TAPS, keep_aspect=True))


@pytest.fixture
def wide():
    return synthetic_art(4, True, WIDE)


def test_high_pass_removes_what_each_2x2_block_shares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 7, 3)).astype(np.float32)
    got = np.asarray(high_pass(x))
    want = np.empty_like(x)
    for i in range(0, 5, 2):
        for j in range(0, 7, 2):
            block = x[:, i : i + 2, j : j + 2]  # at an odd edge, the pixels there are
            want[:, i : i + 2, j : j + 2] = block - block.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(np.asarray(high_pass(np.full((2, 6, 6, 3), 7.0, np.float32)))).max() == 0


def test_features_are_each_views_statistics_side_by_side(views_clf, plain_clf, wide):
    x = views_clf.to_batch([wide])
    feats = views_clf.features_of_batch(x)
    assert feats.shape == (1, feature_dim(SMALL_TAPS, BOTH)) == (1, 2 * feature_dim(SMALL_TAPS))
    half = feature_dim(SMALL_TAPS)
    np.testing.assert_allclose(feats[0, :half], plain_clf.features_of_batch(x)[0], rtol=1e-4, atol=1e-4)
    hp = np.asarray(high_pass(x))
    np.testing.assert_allclose(feats[0, half:], plain_clf.features_of_batch(hp)[0], rtol=1e-4, atol=1e-4)


def test_the_feature_layout_names_every_column_as_the_graph_fills_it(views_clf, wide):
    """What the breakdown reads from `feature_layout` is where the graph put each statistic."""
    clf = Classifier(views_clf.head, views_clf.info, precision="float32")  # exact enough to tell columns apart
    x = clf.to_batch([wide])
    model = clf.model
    maps = keras.Model(model.inputs, [model.get_layer(t).output for t in SMALL_TAPS])([x])
    per_view = {t: np.asarray(m, np.float64).reshape(len(BOTH), *m.shape[1:]) for t, m in zip(SMALL_TAPS, maps)}
    want = []
    for (view, tap, moment), run in itertools.groupby(feature_layout(SMALL_TAPS, BOTH)):
        a = per_view[tap][BOTH.index(view)]
        stat = a.mean(axis=(0, 1)) if moment == "mean" else a.std(axis=(0, 1))
        assert len(list(run)) == len(stat)
        want.append(stat)
    np.testing.assert_allclose(clf.features_of_batch(x)[0], np.concatenate(want), rtol=1e-3, atol=1e-2)


def test_each_picture_keeps_its_own_features_in_a_batch(views_clf, wide):
    one = views_clf.to_batch([wide])
    two = np.concatenate([one, one[:, ::-1]])
    both = views_clf.features_of_batch(two)
    np.testing.assert_allclose(both[0], views_clf.features_of_batch(one)[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(both[1], views_clf.features_of_batch(two[1:])[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(both[0], both[1])


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("layer", ["block1_conv2", "block3_conv3"])
def test_every_method_gives_one_map_per_picture(views_clf, wide, method, layer):
    exp = explain(views_clf, wide, layer=layer, method=method)
    assert exp.heatmap.shape == WIDE and np.isfinite(exp.heatmap).all()
    assert 0 <= exp.heatmap.min() <= exp.heatmap.max() <= 1 and exp.heatmap.max() > 0
    assert exp.p_ai == pytest.approx(float(views_clf.predict([wide])[0]), abs=1e-5)


def test_hirescam_sums_what_both_views_contribute(views_clf, wide):
    x = views_clf.to_batch([wide])
    (acts,), (grads,), _ = compiled(views_clf.model, "block3_conv3", "grad")(x, np.float32(1.0))
    acts, grads = acts.numpy(), grads.numpy()
    assert acts.shape[0] == 2  # the plain view, then the high-passed one
    per_view = (acts * grads).sum(axis=-1)
    maps, _ = METHODS["hirescam"](views_clf.model, "block3_conv3")(x, 1.0, size=per_view.shape[1:])
    np.testing.assert_allclose(maps[0], normalize(per_view.sum(axis=0, keepdims=True))[0], atol=1e-5)
    assert not np.allclose(normalize(per_view[:1])[0], maps[0], atol=1e-3)  # the high-pass view counts


def test_the_gate_counts_every_view(views_clf, plain_clf, wide, monkeypatch):
    held = []
    from aiart.model import classifier

    real = classifier.PASSES.hold

    def spy(count):
        held.append(count)
        return real(count)

    monkeypatch.setattr(classifier.PASSES, "hold", spy)
    for clf in (views_clf, plain_clf):
        clf.predict([wide])
    _, h, w, _ = views_clf.to_batch([wide]).shape
    assert held == [2 * h * w, h * w]


def test_caches_versions_and_files_keep_the_views_apart(views_clf, plain_clf, wide, tmp_path, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    assert FeatureStore(views_clf).root != FeatureStore(plain_clf).root
    assert views_clf.version != plain_clf.version
    x, errors = FeatureStore(views_clf).compute([wide])
    assert errors == [None] and x.shape == (1, feature_dim(SMALL_TAPS, BOTH))
    save_head(views_clf.head, views_clf.info, tmp_path / "views.keras")
    back = load_classifier(tmp_path / "views.keras")
    assert back.info.views == BOTH and back.version == views_clf.version
    np.testing.assert_allclose(back.predict([wide]), views_clf.predict([wide]), rtol=1e-5)
    save_head(plain_clf.head, views_clf.info, tmp_path / "wrong.keras")  # a plain head described as two views
    with pytest.raises(ModelFileError, match="must map"):
        load_classifier(tmp_path / "wrong.keras")


@pytest.mark.parametrize("views", [("highpass",), ("plain", "plain"), ("plain", "blur"), ()])
def test_views_must_start_plain_and_be_known(views):
    with pytest.raises(ValueError, match="views must start"):
        check_views(views)


def test_fine_tuning_refuses_a_two_view_model(views_clf):
    with pytest.raises(ValueError, match="plain view only"):
        finetune.pool_extractor(views_clf)


def test_trust_checks_accept_a_two_view_model(views_clf, wide):
    res = faithfulness.evaluate(views_clf, wide, steps=4, random_orders=2)
    for c in [*res.methods.values(), res.random]:
        assert c.deletion[0] == pytest.approx(res.p_class, abs=1e-5)
    san = sanity.sanity_check(views_clf, wide, methods=("hirescam",), blocks=1)
    assert all(np.isfinite(v).all() for v in san.correlations.values())
    assert len(robustness.probe(views_clf, wide).rows) > 3


def test_batches_shrink_by_the_views_so_a_pass_holds_the_same_pixels(views_clf, plain_clf, tmp_path, monkeypatch):
    from aiart.data import features
    from aiart.model import classifier

    pictures = [synthetic_art(i, bool(i % 2), (64, 64)) for i in range(2)]
    sizes = {views: [len(idx) for idx, _ in batches(pictures * 150, 64, True, 16, views)] for views in (1, 2)}
    assert sizes == {1: [196, 104], 2: [98, 98, 98, 6]}  # 16 224x224 pictures' worth of pixels per pass

    asked = []

    def spy(real):
        return lambda images, size, keep, batch_size, views: (
            asked.append(views) or real(images, size, keep, batch_size, views)
        )

    monkeypatch.setattr(classifier, "batches", spy(classifier.batches))
    monkeypatch.setattr(features, "batches", spy(features.batches))
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    views_clf.logits_of_images(pictures, batch_size=16)
    plain_clf.logits_of_images(pictures, batch_size=16)
    FeatureStore(views_clf).compute(pictures, batch_size=16)
    FeatureStore(plain_clf).compute(pictures, batch_size=16)
    assert asked == [2, 1, 2, 1]
