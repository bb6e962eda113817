"""Fine-tuning the last tapped block with the head: the same graph, really trained, saved and loaded.

On the small classifier (VGG16 cut at block3, 32 px) the tuned block is block3, fed by block2_pool;
the default model tunes block5 the same way.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from aiart.data.dataset import scan
from aiart.data.features import FeatureStore
from aiart.explain import explain
from aiart.model.classifier import ChannelStats, Classifier, HeadInfo, feature_dim, to_batch
from aiart.model.storage import ModelFileError, load_classifier, load_head_checked, save_head, tuned_inputs
from aiart.training import finetune, recipe
from aiart.training.fit import TrainConfig
from aiart.training.live import TrainingRun, train_session
from tests.conftest import SMALL_TAPS, synthetic_art, write_sourced_folder

CONFIG = TrainConfig(hidden=8, epochs=3, batch_size=4, finetune_epochs=2, finetune_lr=1e-3)


@pytest.fixture(scope="module")
def sourced(tmp_path_factory):
    return write_sourced_folder(tmp_path_factory.mktemp("tune"))


@pytest.fixture(scope="module")
def tuned(small_classifier, sourced, tmp_path_factory):
    data = recipe.split(scan(sourced), ["src0"])
    store = FeatureStore(small_classifier, root=tmp_path_factory.mktemp("cache"))
    return recipe.train_split(small_classifier, data, CONFIG, store, augment="degraded"), store


def test_tuned_block_and_its_input():
    assert finetune.tuned_block(SMALL_TAPS) == "block3" and finetune.block_input("block3") == "block2_pool"
    assert finetune.split_taps(SMALL_TAPS) == (["block1_conv2", "block2_conv2"], ["block3_conv3"])
    assert tuned_inputs(HeadInfo(input_size=32, taps=SMALL_TAPS)) == [
        (None, 8, 8, 128),
        (None, feature_dim(SMALL_TAPS[:2])),
    ]
    assert tuned_inputs(HeadInfo())[0] == (None, 14, 14, 512)  # the default model: block4_pool
    with pytest.raises(ValueError):
        finetune.split_taps(("block3_conv3", "block2_conv2"))  # the tuned taps must come last


def test_tunable_model_equals_the_classifier_before_training(small_classifier):
    """Same layers, same weights: [block2_pool, frozen stats] -> logit gives the classifier's logit
    (in float32, where the two graphs' sums agree to rounding)."""
    small_classifier = Classifier(small_classifier.head, small_classifier.info, precision="float32")
    images = [synthetic_art(i, i % 2 == 0) for i in range(4)]
    batch = to_batch(images, 32)
    pooled = finetune.pool_extractor(small_classifier).run(batch).astype(np.float32)
    feats = small_classifier.features_of_batch(batch)
    model = finetune.build_tunable(small_classifier, small_classifier.head)
    frozen = feature_dim(SMALL_TAPS[:2])
    got = model(finetune.inputs_of(pooled, feats, frozen), training=False).numpy()[:, 0]
    np.testing.assert_allclose(got, small_classifier.logits_of_batch(batch), rtol=1e-3, atol=1e-3)
    assert {w.name for w in model.trainable_weights} >= {"kernel", "bias"}
    assert len(model.trainable_weights) == 2 * 3 + 4  # 3 convs and the head's 2 dense layers


def test_train_split_fine_tunes_the_block(small_classifier, tuned):
    res, _ = tuned
    assert list(res.info.training["finetuned"]) == ["block3_conv1", "block3_conv2", "block3_conv3"]
    epochs = res.info.training["epochs_run"]
    assert epochs == len(res.history["loss"]) == len(res.history["val_log_loss"]) and epochs >= 3
    head_tuned = res.head.get_layer("block3_conv3").get_weights()[0]
    imagenet = small_classifier.model.get_layer("block3_conv3").get_weights()[0]
    assert not np.allclose(head_tuned, imagenet)  # really trained...
    assert not small_classifier.model.get_layer("block3_conv3").trainable  # ...on copies: the base is untouched
    assert res.info.training["augmented_copies"] == res.info.training["n_train"]  # the tuned block's inputs too


def test_tuned_classifier_is_flat_shares_frozen_layers_and_matches_training(small_classifier, tuned):
    res, _ = tuned
    clf = Classifier(res.head, res.info, share_backbone_with=small_classifier)
    assert clf.tuned == ("block3_conv1", "block3_conv2", "block3_conv3")
    assert clf.model.get_layer("block2_conv2") is small_classifier.model.get_layer("block2_conv2")
    for got, want in zip(
        clf.model.get_layer("block3_conv3").get_weights(), res.head.get_layer("block3_conv3").get_weights()
    ):
        np.testing.assert_array_equal(got, want)
    assert clf.backbone_version != small_classifier.backbone_version
    p = clf.predict([s.path for s in res.val_samples])
    np.testing.assert_allclose(p, res.val_p, atol=2e-3)  # float16 cached activations: ~1e-3
    exp = explain(clf, res.val_samples[0].path, layer="block3_conv3")
    assert exp.heatmap.min() >= 0 and exp.heatmap.max() <= 1 and exp.layer == "block3_conv3"
    assert FeatureStore(clf).root != FeatureStore(small_classifier).root  # its own feature cache


def test_tuned_model_saves_and_loads(small_classifier, tuned, tmp_path):
    res, _ = tuned
    path = tmp_path / "tuned.keras"
    save_head(res.head, res.info, path)
    loaded = load_classifier(path)
    images = [s.path for s in res.val_samples]
    clf = Classifier(res.head, res.info, share_backbone_with=small_classifier)
    np.testing.assert_allclose(loaded.predict(images), clf.predict(images), atol=1e-5)
    with pytest.raises(ModelFileError, match="must map"):
        load_head_checked(path, HeadInfo(input_size=64, taps=SMALL_TAPS))  # other input size


def test_tuned_head_with_foreign_kernel_is_refused(tmp_path):
    """Right input and output shapes, but a conv layer named block3_conv1 that is not VGG16's."""
    info = HeadInfo(input_size=32, taps=SMALL_TAPS)
    pooled, frozen = (keras.Input(shape[1:]) for shape in tuned_inputs(info))
    x = keras.layers.Conv2D(64, 3, padding="same", name="block3_conv1")(pooled)
    x = keras.layers.Concatenate(name="features")([frozen, ChannelStats()(x)])
    model = keras.Model([pooled, frozen], keras.layers.Dense(1, name="logit")(x))
    path = tmp_path / "foreign.keras"
    save_head(model, info, path)
    with pytest.raises(ModelFileError, match="block3_conv1 has kernel"):
        load_head_checked(path, info)


def fine_tuning_session(run_type: type[TrainingRun], clf, sourced, tmp_path):
    """A Train-page session with 2 head epochs and 2 fine-tuning ones, run to its end: its snapshot."""
    data = recipe.split(scan(sourced), ["src0"])
    store = FeatureStore(clf, root=tmp_path / "cache")
    config = TrainConfig(hidden=8, epochs=2, batch_size=4, finetune_epochs=2, finetune_lr=1e-3)
    run = run_type(epochs=config.epochs + config.finetune_epochs)
    run.start(lambda r: train_session(r, clf, data, config, store, reference=clf))
    return run.wait(180)


def test_session_with_fine_tuning_compares_on_its_own_features(small_classifier, sourced, tmp_path):
    snap = fine_tuning_session(TrainingRun, small_classifier, sourced, tmp_path)
    assert snap.phase == "done", snap.error
    assert [h["epoch"] for h in snap.history] == list(range(1, len(snap.history) + 1))
    assert len(snap.history) >= 3  # head epochs, then fine-tuning epochs numbered on
    res = snap.result
    assert res.clf.tuned and res.comparison is not None and len(res.comparison.y) == 6
    np.testing.assert_allclose(res.comparison.p[1], res.result.val_p, atol=2e-3)


class StopWhenTuningBegins(TrainingRun):
    """The user presses Stop while the tuned block's inputs are computed, after the head has trained."""

    def progress(self, done: int, total: int, elapsed: float) -> None:
        if self.snapshot().history:  # the head's epochs are in: these passes are fine-tuning's
            self.stop()
        super().progress(done, total, elapsed)


def test_stop_before_fine_tuning_keeps_the_trained_head(small_classifier, sourced, tmp_path):
    """Issue 21: a Stop 12 s in (fine-tuning on) said "Stopped before training began" and dropped everything."""
    snap = fine_tuning_session(StopWhenTuningBegins, small_classifier, sourced, tmp_path)
    assert snap.phase == "stopped", (snap.phase, snap.error)
    assert [h["stage"] for h in snap.history] == ["training", "training"]  # no fine-tuning epoch ran
    res = snap.result
    assert not res.clf.tuned and res.result.info.training["epochs_run"] == 2
    assert len(res.result.val_p) == 6 and res.clf.trained_on  # a usable model, with its training pictures
