"""Train: a detector of your own in about a minute, watched live, compared with the default model.

Thin UI over `aiart.training.recipe` (data, split, fit), `aiart.training.live` (background training with callbacks)
and `aiart.training.compare`. Training runs in a background thread; a fragment redraws its curves every
second and offers Stop, so the rest of the page stays responsive.
"""

import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from aiart.app import ui
from aiart.cam.overlay import overlay
from aiart.config import CLASS_NAMES, default_data_dir
from aiart.data.dataset import DatasetError, Sample, scan
from aiart.data.features import FeatureStore
from aiart.data.uploads import extract
from aiart.model.backbone import block_input, top_block
from aiart.model.classifier import Classifier, HeadInfo, untrained_classifier
from aiart.model.storage import ModelFileError, load_head_checked, save_head
from aiart.training import recipe
from aiart.training.compare import confusion_table, metric_rows
from aiart.training.fit import TrainConfig, monitored
from aiart.training.live import TrainingRun, train_session

DEFAULT_PER_CLASS = 100  # about 200 images: a session takes about a minute the first time
CURVE_COLOURS = ["#6c3fc5", "#e8893b"]
DEFAULTS = TrainConfig()
SECONDS_PER_TUNED_IMAGE = 0.06  # one fine-tuning epoch, per image: `bench --train --finetune-epochs 3` here


@st.cache_resource(show_spinner="Loading VGG16 (once per server)...")
def feature_base() -> Classifier:
    """When there is no default model yet: VGG16 with an untrained head, for features only."""
    clf = untrained_classifier()
    ui.settle_heap()
    return clf


def models() -> tuple[Classifier, Classifier | None]:
    """(feature base, default model to compare with or None when none has been trained yet)."""
    try:
        default = ui.default_classifier()
    except (OSError, ValueError):
        return feature_base(), None
    return default, default


@st.cache_data(ttl=120, max_entries=8, show_spinner="Scanning the folder...")
def scan_folder(folder: str) -> list[Sample]:
    return scan(folder)


def folder_samples() -> list[Sample] | None:
    root = ui.folder_input("train-data-dir")
    if root is None:
        return None
    try:
        return scan_folder(str(root))
    except DatasetError as exc:
        st.error(ui.escape_md(str(exc)), icon=":material/folder_off:")
        return None


def uploaded_samples() -> list[Sample] | None:
    """Per-class uploaders (images or zip archives, as in Teachable Machine), written to a temp folder."""
    files = {}
    for col, label in zip(st.columns(2), CLASS_NAMES):
        files[label] = col.file_uploader(
            f"{ui.PRETTY[label]} images",
            type=[*ui.IMAGE_TYPES, "zip"],
            accept_multiple_files=True,
            key=f"upload-{label}",
            help="Several images, or a .zip of images. Each archive counts as one source.",
        )
    key = tuple((label, f.file_id) for label in CLASS_NAMES for f in files[label] or [])
    if not key:
        st.info("Upload some images of each class, or a zip archive per class.", icon=":material/upload:")
        return None
    kept = st.session_state.get("train-uploads")
    if kept is None or kept[0] != key:
        with st.spinner("Checking the uploaded images..."):
            upload = extract({label: [(f.name, f.getvalue()) for f in files[label] or []] for label in CLASS_NAMES})
        st.session_state["train-uploads"] = kept = (key, upload)
    upload = kept[1]
    if upload.problems:
        with st.expander(f"{len(upload.problems)} uploaded files left out", icon=":material/warning:"):
            st.dataframe(pd.DataFrame({"file and reason": upload.problems}), hide_index=True)
    missing = [ui.PRETTY[c] for c in CLASS_NAMES if not any(s.label == c for s in upload.samples)]
    if missing:
        st.warning(f"Add {' and '.join(missing)} images: training needs both classes.", icon=":material/warning:")
        return None
    return upload.samples


def settings(samples: list[Sample]) -> tuple[recipe.Split, TrainConfig, bool]:
    samples, random_classes = recipe.random_parts(samples)
    counts = {c: sum(s.label == c for s in samples) for c in CLASS_NAMES}
    most = max(counts.values())
    per_class = st.slider(
        "Images per class",
        1,
        max(most, 2),
        min(DEFAULT_PER_CLASS, most),
        key="train-per-class",
        help="Drawn evenly across sources. About 200 images in all train in about a minute the first time; "
        "after that their features are cached and a session takes seconds.",
    )
    chosen = recipe.select(samples, per_class)
    sources = sorted({s.source for s in chosen})
    holdout = st.multiselect(
        "Validate on these sources (held out from training)",
        sources,
        default=recipe.default_holdout(chosen),
        key=f"holdout-{hash((len(samples), per_class, tuple(sources)))}",
        help="Whole sources are held out: images from one source share a look, so a random split would "
        "measure memory, not skill.",
    )
    if random_classes:
        st.caption(
            f"{' and '.join(ui.PRETTY[c] for c in random_classes)} images come from one source, so they are "
            "split into random parts: validating on a random part measures memory more than skill."
        )
    c1, c2, c3, c4 = st.columns(4)
    hidden = c1.select_slider(
        "Head size (hidden units)",
        [0, 16, 32, 64, 128, 256, 512],
        DEFAULTS.hidden,
        format_func=lambda n: "linear" if n == 0 else str(n),
        key="train-hidden",
        help="0 = a linear (logistic) head on the features; more units can fit more, and overfit more.",
    )
    lr = c2.select_slider(
        "Learning rate",
        [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        DEFAULTS.learning_rate,
        format_func=lambda v: f"{v:g}",
        key="train-lr",
    )
    epochs = c3.slider(
        "Epochs",
        2,
        200,
        DEFAULTS.epochs,
        key="train-epochs",
        help=f"At most; stops early after {DEFAULTS.patience} epochs without a "
        "better validation log-loss, and keeps the best epoch.",
    )
    batch = c4.select_slider("Batch size", [8, 16, 32, 64, 128], DEFAULTS.batch_size, key="train-batch")
    augment = st.toggle(
        "Light augmentation: add a mirrored copy of each training image",
        help="Left-right mirrored copies get their own features, computed once and cached like any image: "
        "the first session computes twice as many training features.",
        key="train-augment",
    )
    tune_epochs, tune_lr = finetune_settings(len(chosen) - len([s for s in chosen if s.source in holdout]), augment)
    data = recipe.split(chosen, holdout)
    config = TrainConfig(
        hidden=hidden,
        learning_rate=lr,
        epochs=epochs,
        batch_size=batch,
        finetune_epochs=tune_epochs,
        finetune_lr=tune_lr,
    )
    n_ai = sum(s.y for s in data.train)
    st.markdown(
        f"**{len(data.train)}** training images ({n_ai} AI, {len(data.train) - n_ai} human"
        f"{', plus mirrored copies' if augment else ''}) · **{len(data.val)}** validation images from "
        f"{len(holdout)} held-out sources"
    )
    return data, config, augment


def top_block_name() -> str:
    """The block that fine-tuning trains: block5 for the default model."""
    return top_block(models()[0].info.taps)


def finetune_settings(n_train: int, augment: bool) -> tuple[int, float]:
    """The slow option: block5 trains too, after the head. Returns (epochs, learning rate); 0 = off."""
    block = top_block_name()
    on = st.toggle(
        f"Also fine-tune {block} (slow on CPU)",
        key="train-finetune",
        help=f"After the head, VGG16's conv block {block[5]} trains with it, at a small learning rate. The blocks "
        "below stay frozen, so their output is computed once per image and cached like the features.",
    )
    if not on:
        return 0, DEFAULTS.finetune_lr
    c1, c2 = st.columns(2)
    epochs = c1.slider("Fine-tuning epochs", 1, 20, 3, key="train-finetune-epochs")
    lr = c2.select_slider(
        "Fine-tuning learning rate",
        [1e-6, 3e-6, 1e-5, 3e-5, 1e-4],
        DEFAULTS.finetune_lr,
        format_func=lambda v: f"{v:g}",
        key="train-finetune-lr",
        help="Small: the ImageNet weights are a good start, and a large step would undo them.",
    )
    images = n_train * (2 if augment else 1)
    st.warning(
        f"Slow on this CPU: each fine-tuning epoch runs {block} forward and backward on {images} images, about "
        f"{images * SECONDS_PER_TUNED_IMAGE:.0f} s on a 2-core server (a GPU takes seconds), and the first session "
        f"also caches the input of {block} for each image. Stop ends it at the next batch and keeps the best epoch.",
        icon=":material/hourglass_top:",
    )
    return epochs, lr


def start_training(data: recipe.Split, config: TrainConfig, augment: bool, keep: object) -> None:
    base, reference = models()
    store = FeatureStore(base)
    run = TrainingRun(epochs=config.epochs + config.finetune_epochs)
    # `keep` holds uploaded files' temp folder alive for as long as the job reads them.
    run.start(lambda r, keep=keep: train_session(r, base, data, config, store, augment, reference))
    st.session_state["train-run"] = run


# -- live ---------------------------------------------------------------------------------------
def curve_spec(title: str, best: int | None, y_max: float | None, tuned_from: int | None = None) -> dict:
    """A Vega-Lite spec written out: ~30x cheaper per redraw than building it with Altair, which
    matters when the chart is redrawn every second while training runs in the same process.
    `y_max` fixes the top of the y axis (lines above it are cut off)."""
    y = {"field": "value", "type": "quantitative", "title": title}
    if y_max is not None:
        y["scale"] = {"domain": [0, y_max]}
    if title == "accuracy":
        y["axis"] = {"format": "%"}
    line = {
        "mark": {"type": "line", "strokeWidth": 2, "clip": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}},
            "y": y,
            "color": {
                "field": "curve",
                "type": "nominal",
                "scale": {"domain": ["training", "validation"], "range": CURVE_COLOURS},
                "legend": {"orient": "bottom", "title": None},
            },
        },
    }
    layers = [line]
    if best:
        layers.append(
            {"mark": {"type": "rule", "strokeDash": [4, 4], "color": "#777"}, "encoding": {"x": {"datum": best}}}
        )
    if tuned_from:
        layers.append({"mark": {"type": "rule", "color": "#2a9d8f"}, "encoding": {"x": {"datum": tuned_from - 0.5}}})
    return {"height": 240, "layer": layers}


def tuned_from(history: list[dict]) -> int | None:
    """First epoch of the fine-tuning stage, if there was one."""
    return next((h["epoch"] for h in history if h.get("stage") == "fine-tuning"), None)


def loss_cap(history: list[dict]) -> float | None:
    """Top of the loss axis when validation loss explodes (very sure, wrong answers), else None:
    one huge value would otherwise flatten every other curve into a line at zero."""
    train = max(h["log_loss"] for h in history)
    val = max((h["val_log_loss"] for h in history if "val_log_loss" in h), default=0.0)
    return 3 * train if val > 3 * train else None


def curves(history: list[dict], best: int | None = None) -> None:
    """Loss and accuracy per epoch, training and validation; a dashed line marks the kept epoch."""
    if not history:
        return
    cap, tuned = loss_cap(history), tuned_from(history)
    for col, metric, title, y_max in zip(st.columns(2), ("log_loss", "accuracy"), ("log-loss", "accuracy"), (cap, 1.0)):
        rows = [
            {"epoch": h["epoch"], "curve": curve, "value": h[key]}
            for h in history
            for curve, key in (("training", metric), ("validation", f"val_{metric}"))
            if key in h
        ]
        col.vega_lite_chart(pd.DataFrame(rows), curve_spec(title, best, y_max, tuned), width="stretch")
    notes = []
    if tuned:
        notes.append(f"Solid green line: from epoch {tuned} on, {top_block_name()} is fine-tuned with the head.")
    if best:
        notes.append(f"Dashed line: epoch {best}, the lowest validation log-loss; its weights are the ones kept.")
    if cap:
        peak = max(h.get("val_log_loss", 0.0) for h in history)
        notes.append(
            f"Validation log-loss is cut off above {cap:.1f} (it reached {peak:,.0f}): the model was very sure "
            "and wrong on some validation images."
        )
    if notes:
        st.caption(" ".join(notes))


def best_epoch(history: list[dict]) -> int | None:
    """The epoch whose weights are kept: the best of the last stage (fine-tuning starts from the head's best)."""
    stage = history[-1].get("stage") if history else None
    history = [h for h in history if h.get("stage") == stage]
    key = monitored(bool(history) and "val_log_loss" in history[0])
    return min(history, key=lambda h: h[key])["epoch"] if history else None


def status(snap) -> None:
    if snap.phase == "queued":
        st.info("Waiting for another training on this server to finish...", icon=":material/hourglass_top:")
    elif snap.phase == "features" and snap.progress:
        done, total, elapsed = snap.progress
        eta = elapsed / done * (total - done) if done and elapsed else None
        left = f" · about {eta:.0f} s left" if eta is not None else ""
        st.progress(done / max(total, 1), text=f"Features: {done}/{total} images · {elapsed:.0f} s{left}")
        st.caption("Each image goes through VGG16 once; its features are cached for every later session and Browse.")
    elif snap.phase == "features":
        st.progress(0.0, text="Features: reading the cache...")
    elif snap.phase == "training":
        n = len(snap.history)
        last = snap.history[-1] if snap.history else {}
        val = f" · validation accuracy {last['val_accuracy']:.1%}" if "val_accuracy" in last else ""
        what = f"Fine-tuning {top_block_name()} and the head" if snap.message == "fine-tuning" else "Training"
        st.progress(
            min(n / max(snap.epochs, 1), 1.0),
            text=f"{what}: epoch {n} of at most {snap.epochs}{val} · {snap.seconds:.0f} s",
        )
    else:
        st.progress(1.0, text="Comparing with the default model and drawing heatmaps...")


@st.fragment(run_every=1.0)
def live_panel() -> None:
    """Redrawn every second while training runs; only this fragment reruns, not the page."""
    run: TrainingRun = st.session_state["train-run"]
    snap = run.snapshot()
    if not snap.running:
        st.rerun()  # the whole page, once, to show the results
    status(snap)
    curves(snap.history)
    st.button(
        "Stop",
        icon=":material/stop_circle:",
        on_click=run.stop,
        disabled=run.flag.is_set(),
        key="train-stop",
        help="Ends training after the current batch and keeps the best epoch so far.",
    )


# -- results ------------------------------------------------------------------------------------
def results(snap) -> None:
    if snap.phase == "error":
        st.error(f"Training failed: {ui.escape_md(snap.error)}", icon=":material/error:")
        return
    if snap.phase == "cancelled":
        st.info("Stopped before training began. The features computed so far are cached.", icon=":material/info:")
        return
    res = snap.result
    info = res.result.info
    ran, best = info.training["epochs_run"], best_epoch(snap.history)
    if snap.phase == "stopped":
        how = f"Stopped by you during epoch {ran}"
    elif ran < snap.epochs:
        how = f"Early stopping ended training after epoch {ran} (no better validation log-loss for a while)"
    else:
        how = f"Trained all {ran} epochs"
    st.success(f"{how}, in {snap.seconds:.1f} s. Kept the weights of epoch {best}.", icon=":material/check_circle:")
    curves(snap.history, best)
    comparison(res)
    keep(res)


def comparison(res) -> None:
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
    honest = (reference.info.metrics.get("cross_source") or {}).get("accuracy") if reference else None
    measured = f" (its accuracy on sources it had never seen, by cross-validation: {honest:.1%})" if honest else ""
    st.caption(
        f"Both models on the same {len(cmp.y)} validation images. The default model was trained on the full "
        "shared dataset: if these images come from it, it has seen them and its numbers here are flattering"
        f"{measured}. The new model's probabilities are calibrated on these same "
        "images, so its ECE is slightly optimistic too."
    )
    table = pd.DataFrame(metric_rows(cmp)).set_index("metric") * 100
    percent = st.column_config.NumberColumn(format="%.1f%%", width="small")
    st.dataframe(table, column_config={name: percent for name in cmp.names}, width="content")
    for col, name, summary in zip(st.columns(2), cmp.names, cmp.summaries):
        col.markdown(f"**Confusion: {name} model** (rows: true class)")
        col.dataframe(pd.DataFrame.from_dict(confusion_table(summary), orient="index"), width="stretch")
    if not res.disagreements:
        st.caption("The two models agree on every validation image.")
        return
    st.markdown(
        f"**Where they disagree** ({len(cmp.disagree)} images; the {len(res.disagreements)} with the biggest "
        "gap). Each heatmap shows what drove that model towards its own answer (Grad-CAM)."
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


def model_bytes(clf: Classifier) -> tuple[bytes, str]:
    """The head as a `.keras` file (and its JSON), written atomically by `save_head`."""
    memo = st.session_state.setdefault("train-download", {})
    if clf.version not in memo:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "aiart-head.keras"
            save_head(clf.head, clf.info, path)
            memo.clear()
            memo[clf.version] = (path.read_bytes(), path.with_suffix(".json").read_text())
    return memo[clf.version]


def keep(res) -> None:
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
    st.caption(
        f"The file holds {held}. It runs on VGG16 features of {clf.input_size}×{clf.input_size} images "
        f"({len(clf.info.taps)} conv layers' channel statistics); load it below or with "
        "`python -m aiart --model FILE`."
    )
    with st.expander("Model info (JSON)"):
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


def use_model(clf: Classifier | None) -> None:
    """Button callback (runs before the page redraws): this session's model, read by `ui.get_classifier`."""
    if clf is None:
        st.session_state.pop("session_classifier", None)
    else:
        st.session_state["session_classifier"] = clf


def session_model_banner() -> None:
    if st.session_state.get("session_classifier") is None:
        return
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info("This session uses your own model on Classify and Browse.", icon=":material/person:")
    c2.button("Back to the default model", key="train-reset", on_click=use_model, args=(None,))


# -- page ---------------------------------------------------------------------------------------
ui.page_header(":material/model_training: Train your own detector")
st.caption(
    "VGG16's conv layers stay frozen; only a small head on their texture statistics is trained, so a session "
    "takes about a minute the first time and seconds after that (fine-tuning block5 too is an option, slow on a "
    "CPU). Watch the curves, stop when you like, and compare with the default model."
)
session_model_banner()

run: TrainingRun | None = st.session_state.get("train-run")
running = run is not None and run.snapshot().running

st.subheader("1. Data")
mode = st.segmented_control(
    "Images",
    ["folder", "upload"],
    format_func={"folder": "Dataset folder", "upload": "Upload images per class"}.get,
    default="folder" if default_data_dir() else "upload",
    required=True,
    key="train-mode",
)
samples = folder_samples() if mode == "folder" else uploaded_samples()

if samples:
    st.subheader("2. Settings")
    data, config, augment = settings(samples)
    if st.button("Train", type="primary", icon=":material/play_arrow:", disabled=running, key="train-go"):
        if not data.train or len({s.y for s in data.train}) < 2:
            st.error("Keep images of both classes for training: hold out fewer sources.", icon=":material/error:")
        else:
            start_training(data, config, augment, st.session_state.get("train-uploads"))
            run, running = st.session_state["train-run"], True

if run is not None:
    st.subheader("3. Training")
    if running:
        live_panel()
    else:
        results(run.snapshot())

load_panel(models()[0])
