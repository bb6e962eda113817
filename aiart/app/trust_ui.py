"""Streamlit panels for the Classify page: can this heatmap, and this verdict, be trusted?

Each panel runs only on request (a toggle or a button: the checks cost tens of forward passes),
caches its result per model version, image and settings, and is a fragment, so clicking in it
reruns the panel alone, not the page. The computing lives in `faithfulness`, `sanity` and
`robustness`; this module only lays it out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from aiart.app import honesty
from aiart.app.progress import progress_bar
from aiart.cam.overlay import colorize
from aiart.config import CLASS_NAMES
from aiart.data.images import ImageSource, open_image
from aiart.model.classifier import Classifier
from aiart.trust import faithfulness, robustness, sanity

PANEL_STEPS = 8
PANEL_RANDOM_ORDERS = 2  # fewer than the CLI's 3: the panel has to answer within seconds
REBOUND = 0.1  # a deletion curve climbing back this much after its low "falls and rises again"


def pixels(image: ImageSource | np.ndarray) -> np.ndarray:
    return image if isinstance(image, np.ndarray) else np.asarray(open_image(image), dtype=np.uint8)


def digest(arr: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest()[:16]


def requested(label: str, key: str, help: str) -> bool:
    """A button whose answer stays visible on later reruns (for this image) instead of vanishing."""
    if st.button(label, key=f"{key}-button", help=help):
        st.session_state[key] = True
    return bool(st.session_state.get(key))


MEMO_KEY, MEMO_SIZE = "trust-results", 24


def kept_result(key: tuple, compute: Callable[[], object]) -> object:
    """A check's result, kept in this session (so it outlives a page switch) for the last MEMO_SIZE checks.
    Not `st.cache_data`: the computation draws a progress bar, which a cache would replay."""
    memo: dict = st.session_state.setdefault(MEMO_KEY, {})
    if key not in memo:
        memo[key] = compute()
        while len(memo) > MEMO_SIZE:
            memo.pop(next(iter(memo)))
    return memo[key]


def faithfulness_of(clf: Classifier, key: str, arr: np.ndarray, layer, method: str, target: str):
    def compute():
        progress = progress_bar(f"Testing {map_name(target)}")
        image = Image.fromarray(arr)
        return faithfulness.evaluate(
            clf, image, layer, (method,), target, PANEL_STEPS, random_orders=PANEL_RANDOM_ORDERS, progress=progress
        )

    return kept_result(("faithfulness", clf.version, key, layer, method, target), compute)


def sanity_of(clf: Classifier, key: str, arr: np.ndarray, layer, methods: tuple[str, ...], target: str):
    def compute():
        progress = progress_bar(f"Randomizing the model for {map_name(target)}")
        return sanity.sanity_check(clf, Image.fromarray(arr), layer, methods, target, progress=progress)

    return kept_result(("sanity", clf.version, key, layer, methods, target), compute)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_robustness(_clf: Classifier, version: str, key: str, _image: np.ndarray):
    return robustness.probe(_clf, Image.fromarray(_image))


def map_name(target: str) -> str:
    return {CLASS_NAMES[0]: "the 'what looks AI' map", CLASS_NAMES[1]: "the 'what looks human' map"}[target]


@st.fragment
def faithfulness_panel(
    clf: Classifier, image: ImageSource | np.ndarray, layer: str | None, method: str, targets: list[str]
) -> None:
    """Deletion/insertion curves of each map shown (both, with "Both") against random region orders, on request."""
    arr = pixels(image)
    key = digest(arr)
    if not requested(
        "Test this heatmap (deletion and insertion)",
        f"faithfulness-{key}-{layer}-{method}-{'-'.join(targets)}",
        "Remove the most highlighted regions first: if the map is right, the model's confidence drops fast. "
        "Restore them first into a blurred copy: it should come back fast. Random orders are the baseline.",
    ):
        return
    for target in targets:
        st.markdown(f"**Testing {map_name(target)}**")
        res = faithfulness_of(clf, key, arr, layer, method, target)
        faithfulness_result(res, method)


def faithfulness_result(res: faithfulness.Faithfulness, method: str) -> None:
    curves, rand = res.methods[method], res.random
    st.pyplot(faithfulness.curves_figure(res, width=7.0))
    left, right = st.columns(2)
    left.metric(
        "Removing (lower is better)",
        f"{curves.deletion_auc:.2f}",
        f"{curves.deletion_auc - rand.deletion_auc:+.2f} vs random",
        delta_color="inverse",
        help="Deletion AUC: the area under the confidence curve as the highlighted regions are removed.",
    )
    right.metric(
        "Restoring (higher is better)",
        f"{curves.insertion_auc:.2f}",
        f"{curves.insertion_auc - rand.insertion_auc:+.2f} vs random",
        help="Insertion AUC: the area under the confidence curve as they are restored into a blurred copy.",
    )
    st.caption(
        f"{faithfulness_words(curves, rand)} {faithfulness.PRETTY_TARGET[res.target]} of the untouched image: "
        f"{res.p_class:.0%}."
    )


def faithfulness_words(curves: faithfulness.Curves, rand: faithfulness.Curves) -> str:
    """Plain words that never overclaim: 'clear' only when both tests beat random and the deletion curve
    falls without climbing back (a curve that falls and rises again is mixed evidence)."""
    wins = (curves.deletion_auc < rand.deletion_auc) + (curves.insertion_auc > rand.insertion_auc)
    rebounds = float(np.max(curves.deletion - np.minimum.accumulate(curves.deletion))) > REBOUND
    if wins == 2 and not rebounds:
        return "Both tests beat random regions: a sign (not proof) that the model uses what the map highlights."
    if wins == 0:
        return "No better than random regions: this map does not show what the model relies on."
    why = "one test beats random, one does not"
    if rebounds:
        why = "the confidence falls, then rises again as more is removed"
    return f"Mixed: {why}. Read the map as a rough hint, not as the reason."


@st.fragment
def sanity_panel(
    clf: Classifier, image: ImageSource | np.ndarray, layer: str | None, method: str, targets: list[str]
) -> None:
    """Adebayo et al.'s randomization test of each map shown: the maps must change when the model is destroyed."""
    arr = pixels(image)
    key = digest(arr)
    if not requested(
        "Sanity check: randomize the model",
        f"sanity-{key}-{layer}-{method}-{'-'.join(targets)}",
        "Replace the trained head, then the VGG16 blocks from the top down, by random weights. An explanation "
        "of the model must change; one that stays the same only shows the image (edges, bright spots).",
    ):
        return
    methods = tuple(dict.fromkeys((method, *faithfulness.FAST_METHODS)))  # Score-CAM only when it is chosen
    for target in targets:
        st.markdown(f"**Checking {map_name(target)}**")
        res = sanity_of(clf, key, arr, layer, methods, target)
        names = ["original", "head random"] + [f"and {s} random" for s in res.stages[2:]]
        st.image([colorize(m) for m in res.maps[method]], caption=names, width=150)
        table = pd.DataFrame(res.correlations, index=res.stages[1:]).T
        table["verdict"] = ["ignores the model" if res.flagged[m] else "ok: it changes" for m in table.index]
        table.columns = ["head random", *(f"and {s}" for s in res.stages[2:]), "verdict"]
        st.table(table.style.format(precision=2))
    st.caption(
        f"How alike each map is to the original ({res.layer}; Spearman rank correlation): 1 = unchanged, "
        f"0 = unrelated. A method is flagged when it stays above {res.threshold} at any stage."
    )


@st.fragment
def robustness_panel(clf: Classifier, image: ImageSource | np.ndarray) -> None:
    """P(AI) after everyday changes to the file: JPEG, resizing, cropping, blur, a screenshot."""
    arr = pixels(image)
    key = digest(arr)
    if not requested(
        "Robustness: re-save, resize, crop, blur",
        f"robustness-{key}",
        "Does the verdict survive what happens to images on the way to you? A verdict that flips under a "
        "re-save is about the file's history, not about how the picture was made.",
    ):
        return
    with st.spinner("Trying 10 everyday changes..."):
        res = cached_robustness(clf, clf.version, key, arr)
    table = pd.DataFrame(
        {
            "change": [r.description for r in res.rows],
            "P(AI)": [r.p_ai for r in res.rows],
            "vs original": [100 * r.change for r in res.rows],
            "verdict": [honesty.WORDS[clf.verdict(r.p_ai)] + (" (changed)" if r.flips else "") for r in res.rows],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "P(AI)": st.column_config.ProgressColumn("P(AI)", min_value=0.0, max_value=1.0, format="percent"),
            "vs original": st.column_config.NumberColumn("vs original", format="%+.1f points"),
        },
    )
    worst = max(res.rows, key=lambda r: abs(r.change))
    held = len(res.rows) - res.flips
    st.caption(
        f"Original: {honesty.WORDS[res.label]} ({honesty.score_words(res.p_ai)}). The verdict, *not sure* "
        f"included, stayed the same under {held} of {len(res.rows)} changes; the largest move was "
        f"{100 * worst.change:+.1f} points ({worst.description})."
    )
