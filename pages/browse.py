"""Browse: a labelled folder with the model's verdicts, its mistakes, and why (Grad-CAM)."""

from pathlib import Path

import streamlit as st

from aiart import browse
from aiart.app import browse_ui, honesty, keep, ui
from aiart.config import CLASS_NAMES
from aiart.data.dataset import DatasetError
from aiart.data.features import content_hash

PER_PAGE = 20
TILE_WIDTH = 168  # three tiles per row even beside the sidebar on a 1024 px projector

ui.page_header(":material/photo_library: Browse the dataset")
st.caption(
    "Every labelled image of a folder with the model's verdict: how good the model is, where it goes "
    "wrong, and why (click Explain under any image)."
)

with st.expander("Upload a zip instead of a server folder", icon=":material/folder_zip:"):
    uploaded = browse_ui.zip_folder()
root = uploaded or ui.folder_input("data-dir")
if root is None:
    st.page_link("pages/classify.py", label="Classify your own images instead", icon=":material/image_search:")
    st.stop()

clf = ui.require_classifier()
try:
    records = browse_ui.folder_records(clf, root)
except DatasetError as exc:
    st.error(ui.escape_md(str(exc)), icon=":material/folder_off:")
    st.stop()
if records is None:
    st.stop()

kind = st.segmented_control(
    "Show", list(browse.FILTERS), format_func=browse.FILTERS.get, required=True, **keep.remembered("filter", "all")
)
source_col, sort_col, rescan_col = st.columns([4, 3, 2], vertical_alignment="bottom")
readable = browse.source_names(records)
source = source_col.selectbox(
    "Source",
    [None, *browse.sources(records)],
    format_func=lambda s: "All sources" if s is None else readable.get(s, s),
    **keep.remembered("source", None),
)
sort = sort_col.selectbox(
    "Order",
    [None, *browse.SORTS],
    format_func=lambda s: browse.SORTS.get(s, "Filter's order"),
    **keep.remembered("sort", None),
)
rescan_col.button(
    "Rescan",
    icon=":material/refresh:",
    key="rescan",
    on_click=browse_ui.forget_folder,
    help="Look for added or changed files.",
)
only_faces = st.toggle(
    "Only pictures with a close-up face",
    **keep.remembered("faces-only", False),
    help="The model leans towards AI on close-up faces, whoever made the picture: see how it does on them. "
    "The first time, every picture of the folder is searched for faces (a few milliseconds each).",
)
faces = browse_ui.folder_faces(root) if only_faces else None


def step(by: int) -> None:
    st.session_state["browse-open"] += by


@st.dialog("Why this verdict?", width="large")
def explain_dialog(rows: list[browse.Record]) -> None:
    """One image's explanation, with Previous and Next through the images of its tab."""
    i = st.session_state["browse-open"] % len(rows)
    rec = rows[i]
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", icon=":material/chevron_left:", key="dialog-prev", on_click=step, args=(-1,))
        st.caption(f"Image {i + 1} of {len(rows)}")
        st.button("Next", icon=":material/chevron_right:", key="dialog-next", on_click=step, args=(1,))
    try:
        name = str(Path(rec.path).relative_to(root))
    except ValueError:
        name = Path(rec.path).name
    item = ui.item_from_path(rec.path, name, truth=rec.label)
    if item.image is None:
        ui.error_card(item)
        return
    ui.explanation_card(item, clf, ui.probabilities(clf, [item])[item.digest])
    origin = f"{rec.generator} · {rec.source}" if rec.generator else rec.source
    st.caption(f"Source: {ui.escape_md(origin)}" + (" · seen in training" if rec.digest in trained else ""))


trained = clf.trained_on


def tile(rec: browse.Record, readable: list[browse.Record]) -> None:
    """Thumbnail (loaded only for the page on screen), verdict, and a button opening its explanation."""
    tid = content_hash(rec.path.encode())[:12]
    with st.container(border=True, width=TILE_WIDTH, key=f"tile-{tid}"):
        picture = None if rec.error else ui.tile(rec.path, ui.mtime(rec.path))
        if picture is None:
            st.error(ui.escape_md(rec.error or "could not read this file"), icon=":material/broken_image:")
        else:
            st.image(picture, width="stretch")
        if rec.p_ai is not None:
            st.markdown(f"{honesty.score_words(rec.p_ai)}  \n{browse_ui.mark(rec)}")
        if rec.digest in trained:
            st.badge("seen in training", icon=":material/school:", color="gray")
        st.caption(ui.escape_md(Path(rec.path).name))
        if picture is not None and st.button("Explain", key=f"explain-{tid}", width="stretch"):
            st.session_state["browse-open"] = readable.index(rec)
            explain_dialog(readable)


def grid(rows: list[browse.Record], cls: str) -> None:
    if not rows:
        st.info(f"No {ui.PRETTY[cls]} images match this filter.")
        return
    _, pages = browse.paginate(rows, 1, PER_PAGE)
    page = st.pagination(pages, key=f"page-{cls}") if pages > 1 else 1
    shown, _ = browse.paginate(rows, page, PER_PAGE)
    first = (page - 1) * PER_PAGE + 1
    st.caption(f"Images {first}–{first + len(shown) - 1} of {len(rows)}")
    with st.container(horizontal=True, gap="small", key=f"grid-{cls}"):
        readable = [r for r in rows if r.error is None]
        for rec in shown:
            tile(rec, readable)


where = f"source {ui.escape_md(readable.get(source, source))}" if source else "this folder"
if only_faces:
    where = f"the pictures with a close-up face in {where}"
browse_ui.metrics_panel(clf, browse.select(records, "all", source, faces=faces), where)
selected = browse.select(records, kind, source, sort, faces)
st.subheader(f"{browse.FILTERS[kind]}: {len(selected)} image(s)")
by_class = {cls: [r for r in selected if r.label == cls] for cls in CLASS_NAMES}
labels = [f"Labelled {ui.PRETTY[cls]} · {len(rows)}" for cls, rows in by_class.items()]
# a filter that leaves one class empty opens on the other (the counts in the labels make a new tab set)
first = next((label for label, rows in zip(labels, by_class.values()) if rows), labels[0])
tabs = st.tabs(labels, key="class-tabs", default=first)
for tab, (cls, rows) in zip(tabs, by_class.items()):
    with tab:
        grid(rows, cls)
