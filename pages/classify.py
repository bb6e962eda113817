"""Classify: drop images (or pick a sample) and see P(AI-generated) and what drove it (Grad-CAM)."""

import random

import streamlit as st

from aiart.app import classify_ui, honesty, keep, ui
from aiart.config import default_data_dir
from aiart.data.dataset import DatasetError, scan

MAX_PICKS = 12

ui.page_header(":material/image_search: Classify artwork")
st.caption(
    "Drop images to see how likely each one is AI-generated, and which regions pushed the model "
    "towards its answer (heatmaps)."
)
clf = ui.require_classifier()
honesty.model_note(clf)


def add_random_pick(root) -> None:
    """Append a random labelled image of the dataset folder (its true label is shown on the card)."""
    try:
        sample = random.choice(scan(root))
    except DatasetError as exc:
        st.session_state["pick_error"] = str(exc)
        return
    picks = st.session_state.setdefault("dataset_picks", [])
    picks.append((str(sample.path), str(sample.path.relative_to(root)), sample.label))
    del picks[:-MAX_PICKS]


st.file_uploader(
    "Drop images here (one or many)",
    type=ui.IMAGE_TYPES,
    accept_multiple_files=True,
    key="uploader",
    on_change=keep.keep_uploads("uploader"),
    help="JPEG, PNG, WebP, BMP, GIF or TIFF. Large images are shrunk to 1024 px; they are kept for this "
    "browser session only, so they are still here when you come back from another page.",
)
keep.kept_note("uploader")
samples = ui.sample_images()
with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    chosen = st.pills(
        "…or try a sample drawn by code", list(samples), selection_mode="multi", **keep.remembered("samples", [])
    )
    data_dir = default_data_dir()
    if data_dir is not None and data_dir.is_dir():
        st.button(
            "Random dataset image",
            icon=":material/casino:",
            key="random-dataset",
            on_click=add_random_pick,
            args=(data_dir,),
            help="Adds a labelled image from the dataset folder, so you can check the model against the truth.",
        )
        if st.session_state.get("dataset_picks"):
            st.button(
                "Clear dataset images",
                icon=":material/close:",
                key="clear-dataset",
                on_click=lambda: st.session_state.pop("dataset_picks", None),
            )
if error := st.session_state.pop("pick_error", None):
    st.warning(ui.escape_md(error))

items = [ui.item_from_bytes(name, data) for name, data in keep.kept_uploads("uploader")[0]]
items += [samples[name] for name in chosen or []]
items += [ui.item_from_path(path, name, truth) for path, name, truth in st.session_state.get("dataset_picks", [])]
unique = list({it.digest: it for it in reversed(items)}.values())[::-1]  # first occurrence wins
if len(unique) < len(items):
    st.caption(f"{len(items) - len(unique)} duplicate image(s) shown once.")
items = unique

if not items:
    st.info(
        "Drop one or more images above, or pick a sample, to see the verdict and its explanation.",
        icon=":material/upload:",
    )
    st.stop()

if len(items) <= classify_ui.FULL_CARDS_UP_TO:  # full cards: each picture's one pass gives verdict and heatmap
    ui.verdicts_from_explanations(clf, items)
p_ai = ui.probabilities(clf, items)

if len(items) > 1:
    st.subheader("Results")
    classify_ui.results_table(clf, items, p_ai)


@st.fragment
def card(item: ui.Item, p: float | None) -> None:
    """One image's card; its controls rerun only this fragment, never the other images."""
    if p is None:
        ui.error_card(item)
    else:
        ui.explanation_card(item, clf, p)


st.subheader("Explanations")
if len(items) > classify_ui.FULL_CARDS_UP_TO:
    st.caption("Click Details on any image for its heatmaps and checks.")
    classify_ui.grid(items, clf, p_ai)
    st.stop()
for item in items:
    card(item, p_ai.get(item.digest))
