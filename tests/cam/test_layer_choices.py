"""Explaining at several layers at once: what the pages offer, how they name it, and `explain` with it."""

import numpy as np
import pytest

from aiart.explain import BLOCKS_2_TO_5, explain, layer_choices
from aiart.model.classifier import Classifier, HeadInfo, feature_dim
from aiart.model.vgg_weights import CONV_LAYERS
from tests.conftest import random_head, synthetic_art


@pytest.fixture(scope="module")
def full_clf() -> Classifier:
    """Every VGG16 conv layer (so blocks 2-5 exist) on 32 px pictures: block5 is a 2x2 map."""
    return Classifier(random_head(feature_dim(CONV_LAYERS), 2, 2), HeadInfo(input_size=32, taps=CONV_LAYERS))


def test_the_blocks_average_is_offered_only_where_the_model_has_those_layers(small_classifier, full_clf):
    assert layer_choices(small_classifier) == list(small_classifier.conv_layers)  # cut at block3
    assert layer_choices(full_clf) == [*CONV_LAYERS, BLOCKS_2_TO_5]


def test_explain_at_blocks_2_to_5_is_one_map_of_the_picture_and_the_same_verdict(full_clf):
    image = synthetic_art(5, False, (40, 56))
    exp = explain(full_clf, image, target="NON_AI_GENERATED", layer=BLOCKS_2_TO_5)
    assert exp.heatmap.shape == (40, 56) and exp.layer == BLOCKS_2_TO_5
    assert exp.heatmap.min() >= 0.0 and exp.heatmap.max() == pytest.approx(1.0, abs=1e-3)
    assert exp.p_ai == pytest.approx(float(full_clf.predict([image])[0]), abs=1e-5)
    alone = explain(full_clf, image, target="NON_AI_GENERATED", layer="block3_conv3").heatmap
    assert not np.allclose(exp.heatmap, alone, atol=1e-3)


def test_layer_labels_say_the_block_and_what_it_sees():
    from aiart.app.ui import layer_label

    assert layer_label("block5_conv3") == "Block 5 · conv3 (large shapes)"
    assert layer_label(BLOCKS_2_TO_5) == "Blocks 2-5 together"
    assert layer_label("block2_conv2+block4_conv3") == "Blocks 2, 4 together"
