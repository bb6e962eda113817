"""Plain words on screen: verdicts with the measured accuracy and "not sure" band; panels that never overclaim."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from aiart.app import browse_ui, honesty
from aiart.app.trust_ui import faithfulness_words
from aiart.model.classifier import Classifier, HeadInfo
from aiart.trust.faithfulness import Curves


def model(metrics: dict, unsure: float = 0.0) -> SimpleNamespace:
    """A stand-in with the real `Classifier.verdict` and no network behind it."""
    fake = SimpleNamespace(
        info=HeadInfo(metrics=metrics, unsure=unsure),
        label=lambda p: "AI_GENERATED" if p >= 0.5 else "NON_AI_GENERATED",
    )
    fake.verdict = lambda p: Classifier.verdict(fake, p)
    return fake


def test_measured_accuracy_prefers_the_yardstick_and_falls_back():
    assert honesty.measured_accuracy(model({"yardstick": {"summary": {"accuracy": [0.8, 0.05]}}})) == (0.8, 0.05)
    assert honesty.measured_accuracy(model({"cross_source": {"accuracy": 0.73}})) == (0.73, None)
    assert honesty.measured_accuracy(model({})) is None
    assert "73%" in honesty.caveat(model({"cross_source": {"accuracy": 0.73}}))
    assert "not been measured" in honesty.caveat(model({}))


def test_not_sure_inside_the_band_only():
    clf = model({"unsure": {"accuracy_when_sure": 0.9}}, unsure=0.1)
    assert honesty.verdict_line(clf, 0.55).startswith("**Not sure**")
    line = honesty.verdict_line(clf, 0.2)  # the measured accuracy beside the verdict, never "100%"
    assert line == "Looks **human-made** · AI score 20% · right about 9 times in 10 on new art"
    assert "never measured" in honesty.verdict_line(model({}, unsure=0.1), 0.9)
    assert "between 40% and 60%" in honesty.caveat(clf)
    assert honesty.score_words(0.999) == "AI score 99%" and honesty.score_words(0.0001) == "AI score 1%"


def test_a_curve_that_falls_and_rises_again_is_mixed():
    rand = Curves(np.array([0.8, 0.6, 0.5, 0.5]), np.array([0.2, 0.3, 0.4, 0.5]))
    steady = Curves(np.array([0.8, 0.3, 0.2, 0.1]), np.array([0.2, 0.6, 0.7, 0.8]))
    rebound = Curves(np.array([0.8, 0.1, 0.5, 0.2]), np.array([0.2, 0.6, 0.7, 0.8]))
    assert faithfulness_words(steady, rand).startswith("Both tests beat random")
    assert faithfulness_words(rebound, rand).startswith("Mixed: the confidence falls, then rises")
    assert faithfulness_words(rand, steady).startswith("No better than random")


def test_per_class_scores_are_na_without_images_or_predictions():
    s = {
        "confusion": [[3, 1], [0, 0]],  # only AI images; one said human
        "per_class": {
            "AI_GENERATED": {"precision": 1.0, "recall": 0.75, "f1": 0.857, "support": 4},
            "NON_AI_GENERATED": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
        },
        "balanced_accuracy": 0.75,
    }
    table = browse_ui.per_class_table(s)
    assert table["AI-generated"].to_dict() == {"precision": "1.00", "recall": "0.75", "F1": "0.86", "images": "4"}
    assert table["human-made"].to_dict() == {"precision": "0.00", "recall": "n/a", "F1": "n/a", "images": "0"}
    assert browse_ui.balanced(s) is None and browse_ui.percent(float("nan")) == "n/a"


def test_train_comparison_counts_validation_images_the_default_model_trained_on(labelled_folder):
    from aiart.data.dataset import scan
    from aiart.data.features import content_hash
    from aiart.training.compare import seen_count

    samples = [s for s in scan(labelled_folder) if s.path.suffix == ".png"]
    trained = frozenset(content_hash(s.path.read_bytes()) for s in samples[:3])
    assert seen_count(trained, samples) == 3 and seen_count(frozenset(), samples) == 0
