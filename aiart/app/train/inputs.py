"""The Train page's inputs: a dataset folder or per-class uploads, then the training settings.

Uploads are checked once per set of files (`aiart.data.uploads.extract`, kept in session state);
the settings widgets return a `recipe.Split` and a `TrainConfig` ready for `train_run.start_training`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aiart.app import ui
from aiart.app.train.run import top_block_name
from aiart.config import CLASS_NAMES
from aiart.data.dataset import DatasetError, Sample, scan
from aiart.data.uploads import UploadSet, extract
from aiart.training import recipe
from aiart.training.augment import COPIES
from aiart.training.fit import TrainConfig

DEFAULT_PER_CLASS = 100  # about 200 images: a session takes about a minute the first time
DEFAULTS = TrainConfig()
SECONDS_PER_TUNED_IMAGE = 0.06  # one fine-tuning epoch, per image: `bench --train --finetune-epochs 3` here
UPLOADS_KEY = "train-uploads"
AUGMENT_LABELS = {None: "None", "mirrored": "Mirrored copies", "degraded": "Degraded copies"}


@st.cache_data(ttl=120, max_entries=8, show_spinner="Scanning the folder...")
def scan_folder(folder: str) -> list[Sample]:
    return scan(folder)


def folder_samples() -> list[Sample] | None:
    """The session's dataset: the zip uploaded on Browse while it is kept, else the folder box (shared with
    Browse and Classroom)."""
    if zipped := st.session_state.get(ui.ZIP_KEY):
        st.caption(f"The {len(zipped[1].samples)} pictures of the zip uploaded on Browse (remove it there).")
        return zipped[1].samples
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
            on_change=forget_when_emptied,
        )
    key = tuple((label, f.file_id) for label in CLASS_NAMES for f in files[label] or [])
    kept = st.session_state.get(UPLOADS_KEY)
    if not key and kept is None:
        st.info("Upload some images of each class, or a zip archive per class.", icon=":material/upload:")
        return None
    if not key:  # back from another page: the uploaders are empty, the checked images are still here
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f"{len(kept[1].samples)} uploaded images kept from before.")
            st.button("Clear", icon=":material/close:", key="clear-train-uploads", on_click=forget_uploads)
    elif kept is None or kept[0] != key:
        with st.spinner("Checking the uploaded images..."):
            upload = extract({label: [(f.name, f.getvalue()) for f in files[label] or []] for label in CLASS_NAMES})
        st.session_state[UPLOADS_KEY] = kept = (key, upload)
    upload = kept[1]
    if upload.problems:
        with st.expander(f"{len(upload.problems)} uploaded files left out", icon=":material/warning:"):
            st.dataframe(pd.DataFrame({"file and reason": upload.problems}), hide_index=True)
    missing = [ui.PRETTY[c] for c in CLASS_NAMES if not any(s.label == c for s in upload.samples)]
    if missing:
        st.warning(f"Add {' and '.join(missing)} images: training needs both classes.", icon=":material/warning:")
        return None
    return upload.samples


def forget_uploads() -> None:
    st.session_state.pop(UPLOADS_KEY, None)


def forget_when_emptied() -> None:
    """The user removed every file: forget the checked set too (a page switch empties the
    uploaders without calling this, so the set survives it)."""
    if not any(st.session_state.get(f"upload-{label}") for label in CLASS_NAMES):
        forget_uploads()


def uploads_in_use() -> tuple[tuple, UploadSet] | None:
    """The checked uploads (their key and `Upload`); a run holds them so their temp folder outlives it."""
    return st.session_state.get(UPLOADS_KEY)


def settings(samples: list[Sample]) -> tuple[recipe.Split, TrainConfig, str | None]:
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
        "Model size (hidden units)",
        [0, 16, 32, 64, 128, 256, 512],
        DEFAULTS.hidden,
        format_func=lambda n: "linear" if n == 0 else str(n),
        key="train-hidden",
        help="The small network trained on top of VGG16's frozen layers (its 'head'). 0 = the simplest, a "
        "straight line through the features; more units can learn more, and also memorize more.",
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
        help=f"An epoch is one pass over the training images. At most this many: training stops early after "
        f"{DEFAULTS.patience} epochs without a lower validation loss (log-loss: how wrong and how sure), and "
        "keeps the best epoch.",
    )
    batch = c4.select_slider("Batch size", [8, 16, 32, 64, 128], DEFAULTS.batch_size, key="train-batch")
    augment = st.radio(
        "Augmentation: a copy of each training image, with its label",
        [None, *COPIES],
        format_func=lambda k: AUGMENT_LABELS[k],
        horizontal=True,
        key="train-augment",
        help="Each copy gets its own features, computed once and cached like any image: the first session "
        "computes twice as many training features. Degraded copies (a blur, a shrink and re-enlargement, JPEG "
        "re-compression or a screenshot) are what the shipped model learned from, so that softening alone does "
        "not read as AI: compare the robustness probes on Classify with and without them.",
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
        f"{f', plus their {augment} copies' if augment else ''}) · **{len(data.val)}** validation images from "
        f"{len(holdout)} held-out sources"
    )
    return data, config, augment


def finetune_settings(n_train: int, augment: str | None) -> tuple[int, float]:
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
