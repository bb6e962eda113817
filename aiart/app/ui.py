"""Streamlit glue shared by every page: the one cached model loader, image items, cached heatmaps, cards."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from streamlit.runtime.pages_manager import PagesManager

from aiart.app import access, honesty
from aiart.app.keep import keep_widgets, remembered
from aiart.app.progress import counted
from aiart.breakdown import Breakdown
from aiart.cam.base import split_layers
from aiart.config import BOTH, CLASS_NAMES, DEFAULT_HEAD, UNSURE
from aiart.explain import DEFAULT_METHOD, default_layer, layer_choices
from aiart.metrics import sigmoid
from aiart.model.classifier import Classifier


def page_header(title: str, students: bool = False) -> None:
    """Every page starts here. The very first script run of a server process runs in Streamlit's old
    `pages/` folder mode (`PagesManager.uses_pages_directory`, which only `st.navigation` clears), so a
    first request straight to /train showed the page under an auto-generated sidebar. A session whose
    first run is such a run clears the flag as `st.navigation` would and reruns once, through
    streamlit_app.py. (AppTest sets the flag anew before every run; only a session's first run reruns.)
    It also keeps the session's folders and filters across page switches (`keep.keep_widgets`), and stops
    any page but the vote (`students=True`) for a device that is not the teacher's, whatever the URL."""
    keep_widgets()
    first = "aiart-seen" not in st.session_state
    st.session_state["aiart-seen"] = True
    if PagesManager.uses_pages_directory and first:
        PagesManager.uses_pages_directory = False
        st.rerun()
    if not students and not access.is_teacher():
        st.info("This page is for the teacher. Open the link or QR code on the projector to vote.")
        st.stop()
    st.html(APP_CSS)
    st.title(title)


def settle_heap() -> None:
    """Keep long-lived objects (TensorFlow, Keras, VGG16) out of every later garbage collection.

    After each script *and fragment* run Streamlit calls `gc.collect(2)` and `keras.backend.clear_session()`
    (a second full collection). With TensorFlow loaded each takes about 0.5-1 s holding the GIL, which
    stalls every session and any background training (measured: epochs 10x slower while the Train
    page redraws its curves each second). Frozen objects are skipped: both then take microseconds.
    """
    gc.collect()
    gc.freeze()


WARM_UP_SIDE = 64  # VGG16's five poolings need 32 px; a little more keeps every layer's grid over 1x1


@st.cache_resource(show_spinner="Loading VGG16 (once per server)...")
def default_classifier() -> Classifier:
    """One model per process, shared by every page and session (inference is thread-safe)."""
    import keras

    from aiart.cam import METHODS
    from aiart.cam.base import between_traces
    from aiart.model.passes import return_freed_memory
    from aiart.model.storage import load_classifier

    return_freed_memory()  # a server's working set rises and falls with sessions: give freed blocks back
    if not getattr(keras.backend.clear_session, "between_traces", False):  # Streamlit's cleanup waits for traces
        keras.backend.clear_session = between_traces(keras.backend.clear_session)
    clf = load_classifier(DEFAULT_HEAD)
    clf.logits_of_batch(np.zeros((1, clf.input_size, clf.input_size, 3), np.float32))  # trace once, up front
    # and a card's pass (its verdict and heatmap): a first run traces and optimizes the graph for any
    # size, so a small picture does it without a full pass's memory where the model reads any shape
    side = WARM_UP_SIDE if clf.keep_aspect else clf.input_size
    METHODS[DEFAULT_METHOD](clf.model, default_layer(clf))(np.zeros((1, side, side, 3), np.float32))
    settle_heap()
    return clf


def get_classifier() -> Classifier:
    """This session's model: a head kept on the Train page, else the shared default."""
    return st.session_state.get("session_classifier") or default_classifier()


def require_classifier() -> Classifier:
    """`get_classifier()`, or a clear message (never a traceback) when no model can be loaded."""
    from aiart.model.vgg_weights import WeightsUnavailable

    try:
        clf = get_classifier()
        if st.session_state.get("session_classifier") is not None:
            st.info(
                f"Using the model you trained on the Train page (version {clf.version[:8]}), in this session only.",
                icon=":material/model_training:",
            )
        return clf
    except FileNotFoundError:
        problem = f"There is no trained model yet ({DEFAULT_HEAD.name} is missing from the weights folder)."
    except (OSError, ValueError, WeightsUnavailable) as exc:
        problem = f"The model could not be loaded: {escape_md(str(exc).splitlines()[0])}."
    st.error(
        f"{problem} Train one on the Train page, or run "
        "`python -m aiart train DATA --cross-source 5 --out weights/head.keras`.",
        icon=":material/error:",
    )
    st.stop()


# -- text ---------------------------------------------------------------------------------------
PRETTY = {"AI_GENERATED": "AI-generated", "NON_AI_GENERATED": "human-made"}
LOOKS = {"AI_GENERATED": "What looks AI", "NON_AI_GENERATED": "What looks human"}
METHOD_LABELS = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "layercam": "LayerCAM",
    "hirescam": "HiResCAM",
    "scorecam": "Score-CAM (slower)",
    "contribution": "Contributions",
}
METHOD_HELP = (
    "**Contributions** split the score exactly: each region's share of it, counted through every layer "
    "(the layer menu then only sets how fine the grid is). The others are the Grad-CAM family: the gradient "
    "at one layer, weighed in different ways; Score-CAM masks the picture instead (slower)."
)
BLOCK_HINTS = {
    "block1": "fine detail",
    "block2": "small textures",
    "block3": "textures",
    "block4": "parts",
    "block5": "large shapes",
}


def escape_md(text: str) -> str:
    """User text (file names, paths, messages) shown literally in Streamlit Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", str(text))


def layer_label(name: str) -> str:
    """'block5_conv3' -> 'Block 5 · conv3 (large shapes)': layers grouped by VGG16 block; several
    -> 'Blocks 2-5 together' (short enough for the menu's box at 1280 px; 'Blocks 2, 4' if not a run)."""
    block, conv = split_layers(name)[0].split("_", 1)
    numbers = [int(layer.split("_", 1)[0].removeprefix("block")) for layer in split_layers(name)]
    if len(numbers) == 1:
        return f"Block {numbers[0]} · {conv} ({BLOCK_HINTS.get(block, '')})"
    run = numbers == list(range(numbers[0], numbers[-1] + 1))
    return f"Blocks {numbers[0]}-{numbers[-1]} together" if run else f"Blocks {', '.join(map(str, numbers))} together"


# -- images -------------------------------------------------------------------------------------
APP_CSS = """
<style>
[data-testid="stDialog"] [data-testid="stImage"] img { max-height: 60vh; width: auto !important; max-width: 100%;
  object-fit: contain; margin: 0 auto; display: block; }
</style>
"""  # a tall picture's heatmap in a Details window fits without scrolling
DATASET_KEY = "dataset-folder"  # the session's dataset folder: one value for Browse, Train and Classroom
ZIP_KEY = "browse-zip-set"  # (file id, UploadSet) of a labelled zip uploaded on Browse: the dataset while kept
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
MAX_SIDE = 1024  # uploads are shrunk to this before caching: bounded memory per image
DISPLAY_BOX = (520, 390)


@dataclass(frozen=True)
class Item:
    """One image on the Classify page or in a Browse dialog; `image` is None when it failed to decode."""

    name: str
    digest: str  # content hash: the cache key, and the suffix of this item's widget keys
    image: np.ndarray | None
    error: str | None = None
    truth: str | None = None  # the dataset label, when known
    clues: tuple = ()  # `aiart.trust.provenance.Clue`s: what the file's own metadata says about its origin

    @property
    def key(self) -> str:
        return self.digest[:12]


@st.cache_data(max_entries=128, show_spinner=False)
def _decoded(digest: str, _data: bytes) -> np.ndarray:
    from aiart.data.images import open_image, shrink

    return np.asarray(shrink(open_image(_data), MAX_SIDE))


@st.cache_data(max_entries=512, show_spinner=False)
def _clues(digest: str, _data: bytes) -> tuple:
    from aiart.trust.provenance import clues

    return tuple(clues(_data))


def item_from_bytes(name: str, data: bytes, truth: str | None = None) -> Item:
    """Decode once (cached by content hash) and shrink, reading the metadata before shrinking drops it;
    a bad file becomes an item with its error."""
    from aiart.data.features import content_hash
    from aiart.data.images import ImageError

    digest = content_hash(data)
    try:
        return Item(name, digest, _decoded(digest, data), truth=truth, clues=_clues(digest, data))
    except ImageError as exc:
        return Item(name, digest, None, str(exc), truth)


def item_from_path(path: Path | str, name: str, truth: str | None = None) -> Item:
    from aiart.data.features import content_hash
    from aiart.data.images import ImageError, read_bytes

    try:
        data = read_bytes(path)
    except (ImageError, OSError) as exc:
        return Item(name, content_hash(str(path).encode()), None, str(exc), truth)
    return item_from_bytes(name, data, truth)


def fit(image: np.ndarray, box: tuple[int, int] = DISPLAY_BOX) -> np.ndarray:
    """Scale (up or down) to fit `box`, keeping the aspect ratio: images are never stretched."""
    return np.asarray(ImageOps.contain(Image.fromarray(image), box, Image.Resampling.LANCZOS))


@st.cache_resource
def sample_images() -> dict[str, Item]:
    """A few pictures drawn by code (no third-party images): smooth, painterly and geometric."""
    from aiart.data.features import content_hash

    w, h = 384, 288
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w] / np.float32(h)

    sky = np.stack([255 - 120 * (1 - yy), 150 - 80 * (1 - yy), 90 + 80 * (1 - yy)], -1)
    glow = np.exp(-(((xx - 0.95) ** 2 + (yy - 0.55) ** 2) / 0.02))[..., None]
    sunset = sky + glow * np.array([40, 90, 60])
    hills = yy > 0.72 + 0.05 * np.sin(xx * 7)
    sunset[hills] = np.array([70, 35, 90]) * (1.4 - yy[hills, None] * 0.5)
    sunset = Image.fromarray(np.clip(sunset, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))

    strokes = Image.new("RGB", (w, h), (236, 226, 204))
    draw = ImageDraw.Draw(strokes)
    palette = [(46, 64, 120), (190, 70, 50), (220, 170, 60), (60, 120, 80), (30, 30, 40), (240, 240, 230)]
    for _ in range(260):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        angle, length = rng.uniform(0, np.pi), rng.uniform(10, 60)
        end = (x0 + length * np.cos(angle), y0 + length * np.sin(angle))
        draw.line([(x0, y0), end], fill=palette[rng.integers(len(palette))], width=int(rng.integers(3, 11)))
    grain = rng.normal(0, 12, (h, w, 3))
    strokes = Image.fromarray(np.clip(np.asarray(strokes) + grain, 0, 255).astype(np.uint8))

    blocks = Image.new("RGB", (w, h), (245, 242, 232))
    draw = ImageDraw.Draw(blocks)
    for box, colour in (
        ((0, 0, 150, 120), (200, 30, 30)),
        ((250, 180, 384, 288), (30, 60, 160)),
        ((150, 230, 250, 288), (240, 200, 30)),
    ):
        draw.rectangle(box, fill=colour)
    for x in (150, 250, 330):
        draw.line([(x, 0), (x, h)], fill=(15, 15, 15), width=8)
    for y in (120, 180, 230):
        draw.line([(0, y), (w, y)], fill=(15, 15, 15), width=8)

    waves = np.stack([np.sin(9 * xx + 3 * np.sin(4 * yy)), np.cos(7 * yy - 2 * xx), np.sin(5 * (xx + yy))], -1)
    waves = Image.fromarray(np.clip(waves * 110 + 128, 0, 255).astype(np.uint8))

    pictures = {"Sunset": sunset, "Brush strokes": strokes, "Colour blocks": blocks, "Waves": waves}
    return {
        name: Item(f"sample: {name}", content_hash(img.tobytes()), np.asarray(img)) for name, img in pictures.items()
    }


# -- predictions and explanations (cached; keyed by content hash and model version) -------------
def unknown(clf: Classifier, items: list[Item]) -> tuple[dict, list[Item]]:
    """The page's memo of P(AI) by (model version, digest), and the readable items not in it yet."""
    known: dict = st.session_state.setdefault("p_ai_memo", {})
    return known, [it for it in items if it.image is not None and (clf.version, it.digest) not in known]


def probabilities(clf: Classifier, items: list[Item], batch_size: int = 8) -> dict[str, float]:
    """P(AI) per readable item's digest; only new images run the network, in batches, with progress."""
    known, todo = unknown(clf, items)
    with counted(len(todo), "Classifying") as update:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            for it, p in zip(chunk, clf.predict([Image.fromarray(it.image) for it in chunk])):
                known[(clf.version, it.digest)] = float(p)
            update(start + len(chunk))
    return {it.digest: known[(clf.version, it.digest)] for it in items if it.image is not None}


@st.cache_data(max_entries=128, show_spinner="Computing the heatmap...")
def _heatmaps(
    _clf: Classifier, version: str, digest: str, _image: np.ndarray, layer: str, method: str, targets: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], float, Breakdown | None]:
    """({target: heatmap as uint8 0..255}, P(AI), the score by block where the pass gives it); uint8
    keeps the cached maps small. Shared by all sessions."""
    from aiart.explain import explain_targets

    exps = explain_targets(_clf, Image.fromarray(_image), targets, layer=layer, method=method)
    first = next(iter(exps.values()))
    return {t: np.round(e.heatmap * 255).astype(np.uint8) for t, e in exps.items()}, first.p_ai, first.breakdown


def targets_of_one_pass(method: str, target: str) -> tuple[str, ...]:
    """What one pass of `method` for `target` yields: both classes' maps where the method is linear in
    the score (the default), so switching the class to explain, or showing both, costs no pass."""
    from aiart.cam import METHODS

    return CLASS_NAMES if METHODS[method].linear else (target,)


def explanation(clf: Classifier, item: Item, layer: str, method: str, target: str):
    """`aiart.explain.explain` for an item, cached per image, layer, method and model version (and
    target, for a method that needs a pass per target)."""
    from aiart.explain import Explanation

    targets = targets_of_one_pass(method, target)
    maps, p_ai, parts = _heatmaps(clf, clf.version, item.digest, item.image, layer, method, targets)
    heat = maps[target].astype(np.float32) / 255.0
    return Explanation(item.image, heat, p_ai, clf.label(p_ai), target, layer, method, parts)


def default_explanation(clf: Classifier, item: Item):
    """The item's explanation by the default layer and method: the pass a card starts with, which also
    gives its verdict and its breakdown."""
    return explanation(clf, item, default_layer(clf), DEFAULT_METHOD, CLASS_NAMES[0])


def verdicts_from_explanations(clf: Classifier, items: list[Item]) -> None:
    """Put each new readable item's P(AI) in the page's memo from its default explanation, which the
    pass computes anyway: a page that shows every item's heatmap then runs one pass per picture, not a
    verdict pass and a heatmap pass (`probabilities` finds them known)."""
    known, todo = unknown(clf, items)
    with counted(len(todo), "Classifying and explaining") as update:
        for done, it in enumerate(todo, 1):
            known[(clf.version, it.digest)] = default_explanation(clf, it).p_ai
            update(done)


@st.cache_data(max_entries=512, show_spinner=False)
def _soft(_clf: Classifier, version: str, digest: str, _image: np.ndarray) -> bool | None:
    """`aiart.trust.softness.is_soft`, once per picture and model."""
    from aiart.trust.softness import is_soft

    return is_soft(_clf, Image.fromarray(_image))


def close_up_face(item: Item) -> bool:
    """Does `aiart.trust.faces` find a close-up face in a readable item? Once per picture."""
    return _close_up_face(item.digest, item.image)


@st.cache_data(max_entries=512, show_spinner=False)
def _close_up_face(digest: str, _image: np.ndarray) -> bool:
    """The search, cached by content (it does not depend on the model)."""
    from aiart.trust.faces import close_up_faces

    return bool(close_up_faces(Image.fromarray(_image)))


VIEW_NAMES = {"plain": "the picture", "highpass": "its high-pass copy"}


def score_breakdown(clf: Classifier, item: Item) -> None:
    """A stacked bar per VGG16 block (one colour per view): how far it moved the score from an average
    training picture's, in the logit's units; the bars add up to the whole move."""
    import pandas as pd

    parts = default_explanation(clf, item).breakdown  # the card's own pass
    rows = pd.DataFrame.from_dict(parts.by_block(), orient="index")
    rows.index = [block.replace("block", "Block ") for block in rows.index]  # short: Vega cuts long axis labels
    st.bar_chart(
        rows.rename(columns=lambda view: VIEW_NAMES.get(view, view)),
        horizontal=True,
        stack=True,
        x_label="",
        y_label="evidence: ← human-made · AI →",  # horizontal: y names the value axis
        height=240,
    )
    average = honesty.score_points(float(sigmoid(parts.average)))
    move = parts.logit - parts.average
    st.caption(
        f"Measured against an average picture of the training pool (AI score {average}%): together the "
        f"blocks moved the evidence by {abs(move):.2f} towards {'AI' if move >= 0 else 'human-made'}. Block 1 reads "
        "fine detail, block 5 large shapes; the high-pass copy keeps only what neighbouring pixels do not share."
    )


def file_stem(name: str) -> str:
    """A safe file-name stem for downloads, from any user-supplied name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem).strip("_")[:60] or "image"


def png_of(exp, alpha: float) -> Callable[[], bytes]:
    """Deferred figure rendering: the PNG is drawn only when its download button is clicked."""
    from aiart.figure import explanation_png

    return lambda: explanation_png(exp, alpha)


# -- heatmap legend and warnings ----------------------------------------------------------------
HEATMAP_BOX = (1100, 800)  # drawn this large and scaled to the column, so maps grow with the screen
# Measured for the shipped model (`python -m aiart sanity`, README "Sanity check"): these maps barely
# change when the head is randomized. Re-measure whenever the shipped model changes.
SANITY_FLAGGED = ("gradcam++", "layercam", "scorecam")
SANITY_WARNING = (
    "This method failed the sanity check on the shipped model: its map barely changed when the model was "
    "randomized (see the README), so it may show the picture more than the model's reasoning. Prefer "
    "Contributions (the default), Grad-CAM or HiResCAM to see why the model decided."
)


@st.cache_data(max_entries=1, show_spinner=False)
def legend_strip() -> np.ndarray:
    """The heatmap colour scale, left (0) to right (1), as a thin image."""
    from aiart.cam.overlay import colorize

    return colorize(np.tile(np.linspace(0.0, 1.0, 256, dtype=np.float32), (5, 1)))


def heat_legend(target: str) -> None:
    """What the colours mean: a colour bar and one line of plain words."""
    towards = "the class named under each map" if target == BOTH else PRETTY[target]
    with st.container(gap="small"):
        st.image(legend_strip(), width="stretch")
        st.caption(
            f"Blue: little influence · yellow: some · red: the regions that pushed the model most towards {towards}."
        )


# -- cards --------------------------------------------------------------------------------------
def error_card(item: Item) -> None:
    with st.container(border=True, key=f"card-{item.key}"):
        st.markdown(f"**{escape_md(item.name)}**")
        st.error(f"Could not read this file: {escape_md(item.error)}", icon=":material/broken_image:")


def file_says(clues: tuple) -> None:
    """The file's own metadata about its origin, apart from the verdict, which never reads it."""
    icons = {"camera": ":material/photo_camera:", "AI": ":material/smart_toy:"}
    lines = "\n".join(f"- {icons.get(c.points_to, ':material/description:')} {escape_md(c.text)}" for c in clues)
    st.markdown(f"**The file itself says** (the model never reads this):\n{lines}")
    st.caption(honesty.METADATA_NOTE)


def explanation_card(item: Item, clf: Classifier, p_ai: float) -> None:
    """Verdict, heatmap overlay(s) and controls for one image; widget keys end in the content hash.

    Wrap it in `st.fragment` (or call it in a dialog) so a control change reruns only this card.
    """
    from aiart.cam import METHODS
    from aiart.cam.overlay import overlay

    if item.image is None:
        error_card(item)
        return
    k, label = item.key, clf.label(p_ai)
    with st.container(border=True, key=f"card-{k}"):
        st.markdown(f"**{escape_md(item.name)}**")
        left, right = st.columns([2, 5], gap="medium")
        with left:
            st.image(fit(item.image, (360, 300)), width="content", caption="Original")
            st.metric("AI score", f"{honesty.score_points(p_ai)}%", help=honesty.SCORE_HELP)
            st.markdown(honesty.verdict_line(clf, p_ai))
            if _soft(clf, clf.version, item.digest, item.image):
                st.warning(honesty.SOFT_WARNING, icon=":material/blur_on:")
            if close_up_face(item):
                st.warning(honesty.FACE_WARNING, icon=":material/face:")
            if item.clues:
                file_says(item.clues)
            if item.digest in clf.trained_on:
                st.badge("seen in training", icon=":material/school:", color="gray")
                st.caption("The model learned from this very picture, so its verdict here proves little.")
            if item.truth:
                said = clf.verdict(p_ai)
                right_or_wrong = (
                    "the model is not sure"
                    if said == UNSURE
                    else ":green[the model is right]"
                    if item.truth == said
                    else ":red[the model is wrong]"
                )
                st.markdown(f"Dataset label: **{PRETTY[item.truth]}**, {right_or_wrong}")
            st.caption(honesty.caveat(clf))
        with right:
            choice = st.segmented_control(
                "Explain",
                [*CLASS_NAMES, BOTH],
                format_func=lambda t: LOOKS.get(t, "Both"),
                required=True,
                **remembered(f"target-{k}", label),  # the choices outlive a page switch, as do the trust checks
                help="Which class to explain: the regions that pushed the model towards it.",
            )
            controls = st.container(horizontal=True, gap="medium")  # wraps on narrow screens
            layer = controls.selectbox(
                "Conv layer",
                layer_choices(clf),
                format_func=layer_label,
                **remembered(f"layer-{k}", default_layer(clf)),
                help="Early layers react to fine detail such as brush texture; deep layers to large shapes.",
                width=270,
            )
            method = controls.selectbox(
                "Method",
                list(METHODS),
                format_func=lambda m: METHOD_LABELS.get(m, m),
                help=METHOD_HELP,
                width=180,
                **remembered(f"method-{k}", DEFAULT_METHOD),
            )
            alpha = controls.slider("Heatmap opacity", 0.0, 1.0, 0.45, 0.05, key=f"opacity-{k}", width=180)
            if method in SANITY_FLAGGED:
                st.warning(SANITY_WARNING, icon=":material/warning:")
            targets = list(CLASS_NAMES) if choice == BOTH else [choice]
            for col, target in zip(st.columns(len(targets)), targets):
                exp = explanation(clf, item, layer, method, target)
                col.image(
                    fit(overlay(exp.image, exp.heatmap, alpha), HEATMAP_BOX), width="stretch", caption=LOOKS[target]
                )
                col.download_button(
                    "Download PNG",
                    data=png_of(exp, alpha),
                    file_name=f"{file_stem(item.name)}-{target.lower()}-{layer}-{method}.png",
                    mime="image/png",
                    on_click="ignore",
                    icon=":material/download:",
                    key=f"png-{k}-{target}",
                )
            heat_legend(choice)
            parts = st.expander(  # drawn only while open; its numbers come from the card's default pass
                "Where does the score come from?",
                icon=":material/stacked_bar_chart:",
                key=f"breakdown-{k}",
                on_change="rerun",
            )
            if parts.open:
                with parts:
                    score_breakdown(clf, item)
            with st.expander("Can I trust this heatmap?", icon=":material/fact_check:"):
                from aiart.app.trust_ui import faithfulness_panel, robustness_panel, sanity_panel

                faithfulness_panel(clf, item.image, layer, method, targets)
                sanity_panel(clf, item.image, layer, method, targets)
                robustness_panel(clf, item.image)


# -- Browse -------------------------------------------------------------------------------------
def folder_input(key: str) -> Path | None:
    """A page's dataset-folder box. Its value is the session's one dataset folder (`DATASET_KEY`), so the
    folder typed on Browse is the one on Train and Classroom; it is read only inside `config.data_root()`.
    None with a hint (empty) or the error (outside, or unusable)."""
    from aiart.config import GET_DATA_HINT, data_root, default_data_dir
    from aiart.data.dataset import DatasetError, folder_inside

    ss, default, root = st.session_state, default_data_dir(), data_root()
    if DATASET_KEY in ss:
        ss[f"kept-widget-{key}"] = ss[DATASET_KEY]  # typed on another page: this box shows it too

    def share() -> None:
        ss[DATASET_KEY] = ss[key]

    folder = st.text_input(
        "Dataset folder",
        placeholder="a folder holding AI_GENERATED/ and NON_AI_GENERATED/ (or a manifest.csv)",
        help=f"A folder inside {root} (or its sub-folders) on this computer.",
        **remembered(key, str(default) if default else "", on_change=share),
    ).strip()
    if not folder:
        st.info(GET_DATA_HINT, icon=":material/folder_off:")
        return None
    try:
        return folder_inside(root, folder)
    except DatasetError as exc:
        st.error(escape_md(str(exc)), icon=":material/folder_off:")
        return None


def dataset_folder() -> Path | None:
    """The session's current dataset for pages without the box: a zip uploaded on Browse, else the folder
    typed on Browse or Train (else the data folder)."""
    from aiart.config import data_root, default_data_dir
    from aiart.data.dataset import DatasetError, folder_inside

    if zipped := st.session_state.get(ZIP_KEY):
        return zipped[1].root
    kept = st.session_state.get(DATASET_KEY)
    text = kept if kept is not None else str(default_data_dir() or "")
    try:
        return folder_inside(data_root(), text) if text.strip() else None
    except DatasetError:
        return None


@st.cache_data(max_entries=512, show_spinner=False)
def tile(path: str, stamp: float) -> np.ndarray | None:
    """A letterboxed thumbnail for the Browse grid (`stamp` = mtime, so an edited file is redrawn)."""
    from aiart.browse import tile_image
    from aiart.data.images import ImageError

    try:
        return tile_image(path, 224)
    except ImageError:
        return None


def mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
