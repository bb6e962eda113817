"""The Train page's logic without a browser: its state machine, the outcome line and the curves."""

from __future__ import annotations

from pathlib import Path

from aiart.app.train import live, run
from aiart.data.dataset import Sample
from aiart.training.live import TrainingRun
from aiart.training.recipe import Split

AI, HUMAN = (Sample(Path(f"{label}.png"), label, "src") for label in ("AI_GENERATED", "NON_AI_GENERATED"))


def finished(phase: str) -> TrainingRun:
    """A run that has ended in `phase`, as its worker thread leaves it."""
    training = TrainingRun(epochs=3)
    training.set_phase(phase)
    return training


def test_view_follows_the_run_from_none_to_live_to_results():
    assert run.view(None) == "none"
    training = TrainingRun(epochs=3)
    assert run.view(training) == "live"  # queued behind another session's run
    for phase in ("features", "training", "comparing"):
        training.set_phase(phase)
        assert run.view(training) == "live"
    for phase in ("done", "stopped", "cancelled", "error"):
        assert run.view(finished(phase)) == "results"


def test_train_needs_both_classes_in_training():
    assert run.train_problem(Split([AI, HUMAN], [])) is None
    assert "both classes" in run.train_problem(Split([AI, AI], [HUMAN]))
    assert "both classes" in run.train_problem(Split([], [AI, HUMAN]))


def test_outcome_says_who_ended_training():
    assert run.outcome("stopped", 4, 20) == "Stopped by you during training, after 4 epoch(s)"
    tuned = [{"epoch": 5, "stage": "fine-tuning"}]
    assert run.outcome("stopped", 5, 20, tuned) == "Stopped by you during fine-tuning, after 5 epoch(s)"
    assert run.outcome("done", 12, 60).startswith("Early stopping ended training after epoch 12")
    assert run.outcome("done", 20, 20) == "Trained all 20 epochs"


def test_best_epoch_is_the_lowest_validation_loss_of_the_last_stage():
    head = [{"epoch": e, "val_log_loss": v, "log_loss": 1.0, "stage": "training"} for e, v in ((1, 0.9), (2, 0.4))]
    tuned = [{"epoch": e, "val_log_loss": v, "log_loss": 1.0, "stage": "fine-tuning"} for e, v in ((3, 0.6), (4, 0.5))]
    assert run.best_epoch([]) is None
    assert run.best_epoch(head) == 2
    assert run.best_epoch(head + tuned) == 4  # fine-tuning starts from the head's best, keeps its own best
    assert live.tuned_from(head + tuned) == 3
    assert live.tuned_from(head) is None


def test_loss_axis_is_cut_only_when_validation_loss_explodes():
    calm = [{"epoch": 1, "log_loss": 0.7, "val_log_loss": 0.8}]
    wild = [*calm, {"epoch": 2, "log_loss": 0.5, "val_log_loss": 40.0}]
    assert live.loss_cap(calm) is None
    assert live.loss_cap(wild) == 3 * 0.7
    spec = live.curve_spec("log-loss", best=2, y_max=2.1, tuned_from=3)
    assert spec["layer"][0]["encoding"]["y"]["scale"] == {"domain": [0, 2.1]}
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule", "rule"]  # curves, kept, tuned
