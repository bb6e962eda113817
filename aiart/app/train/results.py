"""The Train page after a run: outcome and curves, the comparison with the default model, keeping the model.

Also the panel that loads an uploaded `.keras` head and the banner of a session using its own model.
A kept model is this session's only (`train_run.use_model`); everyone else keeps the default.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from aiart.app import honesty, ui
from aiart.app.train.live import curves
from aiart.app.train.run import best_epoch, models, outcome, top_block_name, use_model
from aiart.cam.overlay import overlay
from aiart.explain import DEFAULT_METHOD
from aiart.model.backbone import block_input
from aiart.model.classifier import Classifier, HeadInfo
from aiart.model.storage import ModelFileError, load_head_checked, save_head
from aiart.training.compare import confusion_table, metric_rows, seen_count
from aiart.training.live import SessionResult, Snapshot


def results(snap: Snapshot) -> None:
    """A finished run: error, cancelled, or the outcome, curves, comparison and keep panel."""
    if snap.phase == "error":
        st.error(f"Training failed: {ui.escape_md(snap.error)}", icon=":material/error:")
        return
    if snap.phase == "cancelled":
        st.info(
            "Stopped before training began, so there is no model to keep. The features computed so far are cached: "
            "the next run starts faster.",
            icon=":material/info:",
        )
        return
    res = snap.result
    info = res.result.info
    how, best = outcome(snap.phase, info.training["epochs_run"], snap.epochs, snap.history), best_epoch(snap.history)
    st.success(
        f"{how}, in {snap.seconds:.0f} s. Kept the best epoch so far: epoch {best}.", icon=":material/check_circle:"
    )
    if snap.phase == "stopped" and res.comparison is None:
        st.caption("Stopped before the comparison with the default model: train again to see it.")
    curves(snap.history, best)
    record_run(res, snap.seconds)
    comparison(res)
    runs_table()
    keep(res)


def comparison(res: SessionResult) -> None:
    """Metrics and confusion of both models on the same validation images, then where they disagree."""
    st.subheader("New model vs the default model")
    cmp = res.comparison
    if cmp is None:
        st.info(
            "No comparison: it needs a default model and validation images of both classes "
            "(hold out at least one source of each class).",
            icon=":material/info:",
        )
        return
    reference = models()[1]
    st.caption(f"Both models on the same {len(cmp.y)} validation images. {fairness(reference, res)}")
    table = pd.DataFrame(metric_rows(cmp))
    table[list(cmp.names)] *= 100
    percent = st.column_config.NumberColumn(format="%.1f%%", width="small")
    metric = st.column_config.TextColumn(width="large")  # "calibration error, ECE (lower is better)" in full
    columns = {"metric": metric} | {name: percent for name in cmp.names}
    # height="content": every row shows, so a projected table never hides its last rows behind a scroll bar
    st.dataframe(table, column_config=columns, hide_index=True, width="content", height="content")
    for col, name, summary in zip(st.columns(2), cmp.names, cmp.summaries):
        col.markdown(f"**Confusion: {name} model** (rows: true class)")
        col.dataframe(pd.DataFrame.from_dict(confusion_table(summary), orient="index"), width="stretch")
    if not res.disagreements:
        st.caption("The two models agree on every validation image.")
        return
    st.markdown(
        f"**Where they disagree** ({len(cmp.disagree)} images; the {len(res.disagreements)} with the biggest "
        f"gap). Each heatmap shows what drove that model towards its own answer ({ui.METHOD_LABELS[DEFAULT_METHOD]})."
    )
    for d in res.disagreements:
        with st.container(border=True):
            st.markdown(f"True class: **{ui.PRETTY[d.true_label]}**")
            for col, name, exp in zip(st.columns(2), cmp.names, d.explanations):
                right = ":green[right]" if exp.label == d.true_label else ":red[wrong]"
                col.image(
                    ui.fit(overlay(exp.image, exp.heatmap, 0.45), (420, 300)),
                    caption=f"{name} model: {ui.PRETTY[exp.label]} (P(AI) = {exp.p_ai:.0%})",
                )
                col.markdown(f"{name} model is {right}")


def fairness(reference: Classifier, res: SessionResult) -> str:
    """Whether the default model has seen these validation images, said plainly, with what that means."""
    seen = seen_count(reference.trained_on, res.result.val_samples)
    calibrated = calibration_words(res.clf)
    if not reference.trained_on:
        return (
            "The default model does not list the images it trained on: if these come from its training data, "
            f"its numbers here are flattering ({honesty.accuracy_words(reference)}). {calibrated}"
        )
    if not seen:
        return f"Neither model trained on any of them: a fair comparison. {calibrated}"
    return (
        f"**The default model trained on {seen} of these {len(res.result.val_samples)} images**, so its numbers "
        f"here are flattering ({honesty.accuracy_words(reference)}). {calibrated}"
    )


def calibration_words(clf: Classifier) -> str:
    """How the new model's calibration and "not sure" band were fitted, and its numbers that chose nothing."""
    scores = clf.info.metrics
    band = f"its *not sure* band ({honesty.band_words(clf)})" if clf.info.unsure else "its *not sure* band (none)"
    fitted = (
        f"The new model's probabilities and {band} were fitted on these same images, so its calibration error "
        "and how often it is right when it gives a verdict are a little optimistic here."
    )
    if not clf.info.unsure:
        fitted += " Its verdicts were right 9 times in 10 at every confidence, so it always gives one."
    if clf.info.unsure >= 0.5:
        fitted += " It was never right 9 times in 10 at any confidence, so it says *not sure* to every picture."
    if not scores.get("cross_fitted"):
        return fitted
    verdicts = (
        f"a verdict for {scores['coverage']:.0%} of the images, right {scores['accuracy_when_sure']:.0%} of the time"
        if scores["coverage"] > 0
        else "no verdict at all"
    )
    return (
        f"{fitted} Fitted on half of these sources and scored on the other half, it reads: calibration error "
        f"{scores['ece']:.1%}, {verdicts}."
    )


def record_run(res: SessionResult, seconds: float) -> None:
    """Add a finished run to this session's list (once), so runs can be compared with each other."""
    runs: dict = st.session_state.setdefault("train-runs", {})
    if res.clf.version in runs:
        return
    info = res.result.info
    config, scores = info.training.get("config", {}), info.metrics
    runs[res.clf.version] = {
        "run": len(runs) + 1,
        "training images": info.training.get("n_train"),
        "validation images": info.training.get("n_val"),
        "hidden units": config.get("hidden"),
        "learning rate": config.get("learning_rate"),
        "epochs": info.training.get("epochs_run"),
        "seconds": round(seconds),
        "accuracy": scores.get("accuracy"),
        "balanced accuracy": scores.get("balanced_accuracy"),
    }


def runs_table() -> None:
    """This session's runs side by side (validation scores on each run's own held-out sources)."""
    runs = list(st.session_state.get("train-runs", {}).values())
    if len(runs) < 2:
        return
    st.subheader("Your runs this session")
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        pd.DataFrame(runs).set_index("run"),
        column_config={"accuracy": percent, "balanced accuracy": percent},
        width="stretch",
    )
    st.caption("Each run is scored on its own validation images: compare runs that held out the same sources.")


def model_bytes(clf: Classifier) -> tuple[bytes, str]:
    """The head as a `.keras` file (and its JSON), written atomically by `save_head`."""
    memo = st.session_state.setdefault("train-download", {})
    if clf.version not in memo:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "aiart-head.keras"
            save_head(clf.head, clf.info, path, trained_on=clf.trained_on)
            memo.clear()
            memo[clf.version] = (path.read_bytes(), path.with_suffix(".json").read_text())
    return memo[clf.version]


def keep(res: SessionResult) -> None:
    """Use the new model in this session, or download it (`.keras` and its JSON)."""
    st.subheader("Keep it")
    clf = res.clf
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="center")
    c1.button(
        "Use this model in Classify and Browse",
        type="primary",
        icon=":material/check:",
        key="train-use",
        on_click=use_model,
        args=(clf,),
        help="For this browser session only; everyone else keeps the default model.",
    )
    data, text = model_bytes(clf)
    c2.download_button(
        "Download model (.keras)",
        data,
        file_name="aiart-head.keras",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
    )
    c3.download_button(
        "Download info (.json)", text, file_name="aiart-head.json", mime="application/json", on_click="ignore"
    )
    if clf.tuned:
        held = (
            f"the head and the fine-tuned {', '.join(clf.tuned)} ({len(data) / 2**20:.0f} MB): "
            f"{block_input(top_block_name())} and the frozen layers' statistics → logit"
        )
    else:
        held = f"the head only: features {tuple(clf.head.input_shape)} → logit {tuple(clf.head.output_shape)}"
    st.caption("Load the file below, another day, or with `python -m aiart --model FILE`.")
    with st.expander("Details for the teacher: what the file holds", icon=":material/data_object:"):
        st.caption(
            f"The file holds {held}. It runs on VGG16 features of {clf.input_size}×{clf.input_size} images "
            f"({len(clf.info.taps)} conv layers' channel statistics)."
        )
        st.json(text)


def load_panel(base: Classifier) -> None:
    """Upload a `.keras` head: loaded with safe_mode and checked against the feature shape."""
    with st.expander("Load a model file (.keras)", icon=":material/upload_file:"):
        f = st.file_uploader("An aiart head (.keras)", type=["keras"], key="train-load")
        if f is None:
            return
        memo = st.session_state.get("train-loaded")
        if memo is None or memo[0] != f.file_id:
            try:
                if not zipfile.is_zipfile(f):  # Keras would report "file not found" with a temp path
                    raise ModelFileError("not a .keras model file (a .keras file is a zip archive)")
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "uploaded.keras"
                    path.write_bytes(f.getvalue())
                    head = load_head_checked(path, base.info)
                info = HeadInfo(base.input_size, base.info.taps, training={"loaded_from_upload": True})
                memo = (f.file_id, Classifier(head, info, share_backbone_with=base), None)
            except ModelFileError as exc:
                memo = (f.file_id, None, str(exc))
            st.session_state["train-loaded"] = memo
        _, clf, error = memo
        if error:
            st.error(f"Cannot use this file: {ui.escape_md(error)}", icon=":material/error:")
            return
        st.success(
            f"A valid head{' with a fine-tuned ' + ', '.join(clf.tuned) if clf.tuned else ''}: "
            f"{tuple(clf.head.input_shape)} → {tuple(clf.head.output_shape)}.",
            icon=":material/check:",
        )
        st.button(
            "Use the uploaded model in Classify and Browse", key="train-use-loaded", on_click=use_model, args=(clf,)
        )


def session_model_banner() -> None:
    """While this session uses its own model: say so, with a way back to the default."""
    if st.session_state.get("session_classifier") is None:
        return
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info("This session uses your own model on Classify and Browse.", icon=":material/person:")
    c2.button("Back to the default model", key="train-reset", on_click=use_model, args=(None,))
