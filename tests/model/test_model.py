"""The classifier contract: flat graph, preprocess_input, thresholded sigmoid, batch robustness."""

import numpy as np
import pytest

from aiart import explain
from aiart.config import CLASS_NAMES
from aiart.data.features import FeatureStore
from aiart.data.images import ImageError
from aiart.explain import explain_targets, target_sign
from aiart.model.classifier import Classifier, HeadInfo, sigmoid, to_batch
from tests.conftest import png_bytes, synthetic_art


def test_graph_is_flat_and_every_conv_layer_is_reachable(small_classifier):
    nested = [layer.name for layer in small_classifier.model.layers if hasattr(layer, "layers")]
    assert nested == []
    assert small_classifier.conv_layers == (
        "block1_conv1",
        "block1_conv2",
        "block2_conv1",
        "block2_conv2",
        "block3_conv1",
        "block3_conv2",
        "block3_conv3",
    )
    assert small_classifier.model.output.shape[-1] == 1


def test_to_batch_uses_vgg16_preprocess_input(pattern_image):
    x = to_batch([pattern_image], 32)
    raw = np.asarray(pattern_image.resize((32, 32), resample=2), np.float32)  # bilinear
    # preprocess_input: RGB -> BGR and ImageNet means subtracted, no 1/255 scaling.
    np.testing.assert_allclose(x[0, ..., 0], raw[..., 2] - 103.939, atol=1e-3)
    assert x.max() > 2.0


def test_predict_accepts_paths_bytes_and_pil(tmp_path, small_classifier, pattern_image):
    path = tmp_path / "a.png"
    pattern_image.save(path)
    p = small_classifier.predict([path, png_bytes(pattern_image), pattern_image, str(path)])
    assert p.shape == (4,) and np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p, p[0], atol=1e-5)
    assert small_classifier.predict(path).shape == (1,)


def test_one_bad_file_never_stops_the_batch(small_classifier, pattern_image):
    verdicts = small_classifier.classify([png_bytes(pattern_image), b"", b"garbage", png_bytes(pattern_image)])
    assert [v.error is None for v in verdicts] == [True, False, False, True]
    assert verdicts[1].error == "empty file (0 bytes)"
    with pytest.raises(ImageError):
        small_classifier.predict([b""])
    p = small_classifier.predict([b"", png_bytes(pattern_image)], errors="nan")
    assert np.isnan(p[0]) and 0 <= p[1] <= 1


def test_label_is_a_threshold_not_argmax(small_classifier):
    assert small_classifier.label(0.9) == "AI_GENERATED"
    assert small_classifier.label(0.1) == "NON_AI_GENERATED"
    assert small_classifier.label(small_classifier.threshold) == "AI_GENERATED"


def test_cached_features_give_the_same_logits(tmp_path, small_classifier):
    images = [synthetic_art(i, i % 2 == 0) for i in range(5)]
    direct = small_classifier.logits_of_batch(to_batch(images, 32))
    store = FeatureStore(small_classifier, root=tmp_path)
    feats, errors = store.compute(images)
    assert errors == [None] * 5
    np.testing.assert_allclose(small_classifier.logits_of_features(feats), direct, atol=1e-4)
    calls = []
    again, _ = store.compute(images, progress=lambda d, t, s: calls.append((d, t)))
    np.testing.assert_array_equal(again, feats)
    assert calls == [(5, 5)]  # everything came from the cache


def test_explain_shares_the_forward_pass_and_respects_target(small_classifier, pattern_image):
    ai = explain(small_classifier, pattern_image, target="AI_GENERATED")
    human = explain(small_classifier, pattern_image, target="NON_AI_GENERATED", layer="block2_conv2")
    assert ai.heatmap.shape == (48, 64) and human.heatmap.shape == (48, 64)
    assert ai.layer == "block3_conv3" and human.layer == "block2_conv2"
    assert ai.heatmap.min() >= 0 and ai.heatmap.max() <= 1
    np.testing.assert_allclose(ai.p_ai, small_classifier.predict([pattern_image])[0], atol=1e-5)
    assert target_sign("NON_AI_GENERATED") == -1.0
    with pytest.raises(ValueError):
        explain(small_classifier, pattern_image, target="CAT")
    with pytest.raises(ValueError, match="unknown method"):
        explain(small_classifier, pattern_image, method="magic")


@pytest.mark.parametrize("method", ["contribution", "layercam"])
def test_explain_targets_gives_each_target_its_own_map(small_classifier, pattern_image, method):
    """Both classes' maps of one picture, as `explain` gives each (from one pass for a linear method)."""
    both = explain_targets(small_classifier, pattern_image, CLASS_NAMES, method=method)
    assert list(both) == list(CLASS_NAMES)
    for target, exp in both.items():
        alone = explain(small_classifier, pattern_image, target=target, method=method)
        np.testing.assert_allclose(exp.heatmap, alone.heatmap, atol=1e-5)
        assert (exp.target, exp.p_ai, exp.label) == (target, alone.p_ai, alone.label)
    assert not np.allclose(both[CLASS_NAMES[0]].heatmap, both[CLASS_NAMES[1]].heatmap)


def test_head_version_tracks_weights(small_classifier):
    import keras

    clone = keras.models.clone_model(small_classifier.head)
    clone.set_weights([w * 0 for w in small_classifier.head.get_weights()])
    other = Classifier(clone, HeadInfo(input_size=32, taps=small_classifier.info.taps))
    assert other.version != small_classifier.version
    assert sigmoid(0.0) == 0.5


def test_a_second_head_can_share_the_frozen_backbone(small_classifier, pattern_image):
    import keras

    clone = keras.models.clone_model(small_classifier.head)
    clone.set_weights([w * 0.5 for w in small_classifier.head.get_weights()])
    clone.get_layer("standardize").finalize_state()
    shared = Classifier(clone, small_classifier.info, share_backbone_with=small_classifier)
    alone = Classifier(clone, small_classifier.info)
    conv = "block2_conv2"
    assert shared.model.get_layer(conv) is small_classifier.model.get_layer(conv)
    assert alone.model.get_layer(conv) is not small_classifier.model.get_layer(conv)
    np.testing.assert_allclose(shared.predict([pattern_image]), alone.predict([pattern_image]), atol=1e-5)
    assert shared.conv_layers == small_classifier.conv_layers
    assert explain(shared, pattern_image).heatmap.shape == (48, 64)
