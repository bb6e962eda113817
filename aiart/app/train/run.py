"""The Train page's state machine: no run -> running (live panel) -> finished (results), one run per session.

The run itself (`aiart.training.live.TrainingRun`) trains in a background thread; this module keeps it
in session state, says which view a rerun shows, and words the outcome. Stop is `TrainingRun.stop`,
the on-click of the live panel's button (`train_live.live_panel`).
"""

from __future__ import annotations

import streamlit as st

from aiart.app import ui
from aiart.data.features import FeatureStore
from aiart.model.backbone import top_block
from aiart.model.classifier import Classifier
from aiart.training import recipe
from aiart.training.fit import TrainConfig, monitored
from aiart.training.live import TrainingRun, train_session

RUN_KEY = "train-run"


@st.cache_resource(show_spinner="Loading VGG16 (once per server)...")
def feature_base() -> Classifier:
    """`recipe.train_base()`, once per server: VGG16 with an untrained head, for features only.

    The default model looks at 448-pixel images, over five times the work per image. A first session
    of 200 images is its 200 VGG16 passes plus about a sixth (`python -m aiart bench --train` prints
    both).
    """
    clf = recipe.train_base()
    ui.settle_heap()
    return clf


def models() -> tuple[Classifier, Classifier | None]:
    """(feature base, default model to compare with or None when none has been trained yet)."""
    try:
        default = ui.default_classifier()
    except (OSError, ValueError):
        default = None
    return feature_base(), default


def top_block_name() -> str:
    """The block that fine-tuning trains: block5 for the default model."""
    return top_block(models()[0].info.taps)


def current_run() -> TrainingRun | None:
    """This session's training run, if it started one."""
    return st.session_state.get(RUN_KEY)


def view(run: TrainingRun | None) -> str:
    """What step 3 of the page shows: "none" (no run yet), "live" (still running) or "results"."""
    if run is None:
        return "none"
    return "live" if run.snapshot().running else "results"


def train_problem(data: recipe.Split) -> str | None:
    """Why Train cannot start on this split (one line for users), or None when it can."""
    if not data.train or len({s.y for s in data.train}) < 2:
        return "Keep images of both classes for training: hold out fewer sources."
    return None


def start_training(data: recipe.Split, config: TrainConfig, augment: str | None, keep: object) -> TrainingRun:
    """Start this session's run in the background; `keep` holds uploaded files' temp folder alive
    for as long as the job reads them."""
    base, reference = models()
    store = FeatureStore(base)
    run = TrainingRun(epochs=config.epochs + config.finetune_epochs)
    run.start(lambda r, keep=keep: train_session(r, base, data, config, store, augment, reference))
    st.session_state[RUN_KEY] = run
    return run


def best_epoch(history: list[dict]) -> int | None:
    """The epoch whose weights are kept: the best of the last stage (fine-tuning starts from the head's best)."""
    stage = history[-1].get("stage") if history else None
    history = [h for h in history if h.get("stage") == stage]
    key = monitored(bool(history) and "val_log_loss" in history[0])
    return min(history, key=lambda h: h[key])["epoch"] if history else None


def outcome(phase: str, epochs_run: int, epochs: int, history: list[dict] | None = None) -> str:
    """How training ended, in words: stopped by the user (and in which stage), by early stopping, or after
    every epoch."""
    if phase == "stopped":
        stage = (history or [{}])[-1].get("stage", "training")
        return f"Stopped by you during {stage}, after {epochs_run} epoch(s)"
    if epochs_run < epochs:
        return f"Early stopping ended training after epoch {epochs_run} (the validation loss stopped improving)"
    return f"Trained all {epochs_run} epochs"


def use_model(clf: Classifier | None) -> None:
    """Button callback (runs before the page redraws): this session's model, read by `ui.get_classifier`."""
    if clf is None:
        st.session_state.pop("session_classifier", None)
    else:
        st.session_state["session_classifier"] = clf
