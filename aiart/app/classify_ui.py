"""The Classify page's batch views: a results table with thumbnails, and a grid of compact cards.

One or a few images get full cards; a batch reads as a grid of small cards, each opening its
full explanation in a dialog, so twenty uploads are not one very long column.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from aiart.app import honesty, ui
from aiart.browse import paginate
from aiart.model.classifier import Classifier

FULL_CARDS_UP_TO = 4  # more images than this read as a grid of compact cards
GRID_PER_PAGE = 24
THUMB = 96


def thumbnail_url(image: np.ndarray | None) -> str:
    """A small PNG as a data URL, for the table's picture column; a file that could not be read gets a
    crossed-out grey square, never the word "None"."""
    picture = Image.fromarray(ui.fit(image, (THUMB, THUMB))) if image is not None else broken_thumbnail()
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def broken_thumbnail() -> Image.Image:
    img = Image.new("RGB", (THUMB, THUMB), (236, 233, 242))
    draw = ImageDraw.Draw(img)
    draw.line([(12, 12), (THUMB - 12, THUMB - 12)], fill=(176, 40, 60), width=5)
    draw.line([(12, THUMB - 12), (THUMB - 12, 12)], fill=(176, 40, 60), width=5)
    return img


def results_rows(clf: Classifier, items: list[ui.Item], p_ai: dict[str, float]) -> list[dict]:
    """One row per image: rounded P(AI) in percent, verdict in words ("not sure" inside the band),
    the full error text for a file that could not be read, and empty cells, never None, elsewhere."""
    rows = []
    for it in items:
        p = p_ai.get(it.digest)
        rows.append(
            {
                "file": it.name,
                "verdict": honesty.WORDS[clf.verdict(p)] if p is not None else "could not be read",
                "AI score": honesty.score_points(p) if p is not None else np.nan,
                "dataset label": ui.PRETTY.get(it.truth, ""),
                "problem": it.error or "",
            }
        )
    return rows


def results_table(clf: Classifier, items: list[ui.Item], p_ai: dict[str, float]) -> None:
    """The sortable table (with thumbnails) and its CSV download."""
    table = pd.DataFrame(results_rows(clf, items, p_ai))
    shown = table.assign(picture=[thumbnail_url(it.image) for it in items])[["picture", *table.columns]]
    if not table["problem"].any():
        shown = shown.drop(columns="problem")
    st.dataframe(
        shown,
        key="results",
        hide_index=True,
        width="stretch",
        row_height=56,
        column_config={
            "picture": st.column_config.ImageColumn("picture", width="small"),
            "file": st.column_config.TextColumn("file", width="medium"),
            "AI score": st.column_config.ProgressColumn(format="%d%%", min_value=0, max_value=100),
            "problem": st.column_config.TextColumn("problem", width="large"),
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


@st.dialog("Why this verdict?", width="large")
def detail(item: ui.Item, clf: Classifier, p: float) -> None:
    ui.explanation_card(item, clf, p)


def compact_card(item: ui.Item, clf: Classifier, p: float | None) -> None:
    """Thumbnail, verdict and a Details button (its full card opens in a dialog)."""
    with st.container(border=True, width=230, key=f"compact-{item.key}"):
        if p is None:
            st.error(f"Could not read this file: {ui.escape_md(item.error)}", icon=":material/broken_image:")
        else:
            st.image(ui.fit(item.image, (400, 300)), width="stretch")
            st.markdown(honesty.verdict_line(clf, p))
        st.caption(ui.escape_md(item.name))
        if p is not None and st.button(
            "Details", icon=":material/zoom_in:", key=f"details-{item.key}", width="stretch"
        ):
            detail(item, clf, p)


def grid(items: list[ui.Item], clf: Classifier, p_ai: dict[str, float]) -> None:
    """A batch as compact cards, paged."""
    _, pages = paginate(items, 1, GRID_PER_PAGE)
    page = st.pagination(pages, key="grid-page") if pages > 1 else 1
    with st.container(horizontal=True, gap="small", key="classify-grid"):
        for item in paginate(items, page, GRID_PER_PAGE)[0]:
            compact_card(item, clf, p_ai.get(item.digest))
