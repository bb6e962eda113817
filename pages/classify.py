"""Classify: drop images (or pick a sample) and see P(AI-generated) and what drove it (Grad-CAM)."""

import random

import pandas as pd
import streamlit as st

from aiart.app import keep, ui
from aiart.browse import paginate, sureness
from aiart.config import default_data_dir
from aiart.data.dataset import DatasetError, scan

CARDS_PER_PAGE = 8
MAX_PICKS = 12

ui.page_header(":material/image_search: Classify artwork")
st.caption(
    "Drop images to see how likely each one is AI-generated, and which regions pushed the model "
    "towards its answer (Grad-CAM heatmaps)."
)
clf = ui.require_classifier()


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
    keep.remembered("samples", [])
    chosen = st.pills("…or try a sample drawn by code", list(samples), selection_mode="multi", key="samples")
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

p_ai = ui.probabilities(clf, items)

if len(items) > 1:
    st.subheader("Results")
    rows = []
    for it in items:
        p = p_ai.get(it.digest)
        rows.append(
            {
                "file": it.name,
                "verdict": ui.PRETTY[clf.label(p)] if p is not None else "unreadable",
                "P(AI-generated)": p,
                "sure": None if p is None else sureness(p, clf.label(p)),
                "dataset label": ui.PRETTY.get(it.truth, ""),
                "error": it.error or "",
            }
        )
    table = pd.DataFrame(rows)
    st.dataframe(
        table,
        key="results",
        hide_index=True,
        width="stretch",
        column_config={
            "P(AI-generated)": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            "sure": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.download_button(
        "Download results (CSV)",
        data=table.to_csv(index=False),
        file_name="aiart-results.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="csv",
    )


@st.fragment
def card(item: ui.Item, p: float | None) -> None:
    """One image's card; its controls rerun only this fragment, never the other images."""
    if p is None:
        ui.error_card(item)
    else:
        ui.explanation_card(item, clf, p)


st.subheader("Explanations")
_, pages = paginate(items, 1, CARDS_PER_PAGE)
page = st.pagination(pages, key="cards-page") if pages > 1 else 1
for item in paginate(items, page, CARDS_PER_PAGE)[0]:
    card(item, p_ai.get(item.digest))
