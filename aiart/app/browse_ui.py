"""The Browse page's panels: a folder's predictions (cached, or computed only on request) and its metrics.

Metrics are reported on the images the model never trained on; the ones it did train on (its
`trained_on` content hashes) are counted apart, because a model always looks good on what it
learned from.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from aiart import browse
from aiart.app import honesty, ui
from aiart.app.progress import progress_bar
from aiart.config import CLASS_NAMES, UNSURE
from aiart.data.dataset import scan
from aiart.data.uploads import extract, split_by_class
from aiart.model.classifier import Classifier

SHORT = {"AI_GENERATED": "AI", "NON_AI_GENERATED": "human"}


def folder_records(clf: Classifier, root: Path) -> list[browse.Record] | None:
    """This folder's records from the session memo or the disk cache; else the folder's summary and a
    button to compute them (None until it is pressed). Nothing slow starts unasked."""
    memo: dict = st.session_state.setdefault("browse_memo", {})
    key = (str(root), clf.version)
    if key not in memo:
        records = browse.cached_predictions(clf, root)
        if records is None:
            slot = st.empty()
            with slot.container():
                pressed = offer(root, clf.input_size)
            if not pressed:
                return None
            slot.empty()  # the folder's summary and the button go once computing starts
        memo[key] = records if records is not None else compute(clf, root)
    return memo[key]


def offer(root: Path, input_size: int) -> bool:
    """A first visit to an unscored folder: what it holds, and the Compute button (True when pressed)."""
    view = browse.overview(scan(root))
    counts = " and ".join(f"{n} {ui.PRETTY[c]}" for c, n in view["per_class"].items())
    st.markdown(f"**{view['n']} images** in this folder: {counts}, from {len(view['per_source'])} source(s).")
    sources = pd.DataFrame(
        sorted(view["per_source"].items(), key=lambda kv: -kv[1]), columns=["source", "images"]
    ).set_index("source")
    with st.expander("Sources", icon=":material/list:"):
        st.dataframe(sources, width="stretch")
    minutes = browse.minutes_to_score(view["n"], input_size)
    st.caption(
        "The model has not scored this folder yet. Scoring runs every image through VGG16 once; the result "
        "is cached on the server, so later visits (and other sessions) open at once."
    )
    return st.button(
        f"Compute predictions (about {minutes} min)",
        type="primary",
        icon=":material/play_arrow:",
        key="browse-compute",
        help="Less when the images' features are already cached (after training on them, for example).",
    )


def compute(clf: Classifier, root: Path) -> list[browse.Record]:
    """`browse.predictions` with a progress bar (count and time left)."""
    return browse.predictions(clf, root, progress=progress_bar("Computing predictions for the folder", " images"))


def folder_faces(root: Path) -> dict[str, int | None]:
    """`browse.close_up_faces` with a progress bar, once per folder and session (then from the disk cache)."""
    memo: dict = st.session_state.setdefault("browse_faces", {})
    if str(root) not in memo:
        memo[str(root)] = browse.close_up_faces(root, progress=progress_bar("Looking for close-up faces", " images"))
    return memo[str(root)]


def zip_folder() -> Path | None:
    """A labelled zip uploaded instead of a server folder: unpacked once into a private temp folder that
    lives as long as this session keeps it."""
    f = st.file_uploader(
        "…or upload a zip holding AI_GENERATED/ and NON_AI_GENERATED/ folders",
        type=["zip"],
        key="browse-zip",
        help="The images stay on the server for this browser session only.",
    )
    kept = st.session_state.get(ui.ZIP_KEY)
    if f is not None and (kept is None or kept[0] != f.file_id):
        with st.spinner("Unpacking and checking the images..."):
            problems: list[str] = []
            upload = extract(split_by_class(f.name, f.getvalue(), problems))
            upload.problems[:0] = problems
        st.session_state[ui.ZIP_KEY] = kept = (f.file_id, upload)
    if kept is None:
        return None
    if f is None:  # back from another page: the uploader is empty, the unpacked pictures are kept
        st.button("Use a server folder instead", icon=":material/close:", key="browse-zip-forget", on_click=forget_zip)
    if kept[1].problems:
        with st.expander(f"{len(kept[1].problems)} files in the zip left out", icon=":material/warning:"):
            st.dataframe(pd.DataFrame({"file and reason": kept[1].problems}), hide_index=True)
    return kept[1].root


def forget_zip() -> None:
    st.session_state.pop(ui.ZIP_KEY, None)


def forget_folder() -> None:
    st.session_state.pop("browse_memo", None)
    st.session_state.pop("browse_faces", None)


def percent(value: float | None) -> str:
    """'73.4%', or 'n/a' where the metric is undefined (no images of a class, nothing predicted)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def per_class_table(s: dict) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, 'n/a' where a class has no images or no predictions."""
    predicted = [sum(row[j] for row in s["confusion"]) for j in range(len(CLASS_NAMES))]
    columns = {}
    for j, (cls, m) in enumerate(s["per_class"].items()):
        shown = {"precision": m["precision"] if predicted[j] else None}
        shown["recall"] = m["recall"] if m["support"] else None
        shown["F1"] = m["f1"] if m["support"] and predicted[j] else None
        columns[ui.PRETTY[cls]] = {k: "n/a" if v is None else f"{v:.2f}" for k, v in shown.items()}
        columns[ui.PRETTY[cls]]["images"] = str(m["support"])
    return pd.DataFrame(columns)


def balanced(s: dict) -> float | None:
    """Balanced accuracy needs both classes; with one it is just that class's recall, so n/a."""
    return s["balanced_accuracy"] if all(m["support"] for m in s["per_class"].values()) else None


def mark(rec: browse.Record) -> str:
    """A tile's verdict mark: right, wrong (what it said), or not sure, which is never a mistake."""
    if rec.unsure:
        return ":gray[:material/help: not sure]"
    return ":green[:material/check: right]" if rec.correct else f":red[:material/close: said {SHORT[rec.predicted]}]"


def verdict_table(s: dict) -> pd.DataFrame:
    """Rows: the true class; columns: what the model said, "not sure" as its own column."""
    said = {c: f"said {SHORT[c]}" for c in CLASS_NAMES} | {UNSURE: "not sure"}
    rows = {ui.PRETTY[c]: {said[k]: n for k, n in counts.items()} for c, counts in s["verdicts"].items()}
    return pd.DataFrame(rows).T


def metrics_panel(clf: Classifier, scoped: list[browse.Record], where: str) -> None:
    """Right, wrong and not sure on the pictures the model never saw, in plain words; the statistics
    (accuracy at 50%, calibration, per-class scores, reliability) behind a toggle for the teacher."""
    unseen, seen = browse.split_seen(scoped, clf.trained_on)
    st.subheader(f"How good is the model on {where}?")
    if seen:
        before = browse.summary(seen, clf.threshold)
        st.info(
            f"The model was trained on {len(seen)} of these {len(scoped)} pictures (marked *seen in training*). "
            "The numbers below leave them out: a model always looks better on what it learned from (on those "
            f"{len(seen)} it was right {before['right']} times and wrong {before['wrong']} times).",
            icon=":material/school:",
        )
    s = browse.summary(unseen, clf.threshold)
    if s["n"] == 0:
        st.warning(
            "No picture here is both readable and new to the model, so there is nothing fair to measure.",
            icon=":material/info:",
        )
        return
    said = s["right"] + s["wrong"]
    a, b, c, d = st.columns(4)
    a.metric(
        "Pictures checked", s["n"], help=f"{s['unreadable']} file(s) could not be read" if s["unreadable"] else None
    )
    b.metric("Right", f"{s['right']} of {said}" if said else "none", help="Among the pictures it gave a verdict on.")
    c.metric("Wrong", s["wrong"], help="Mistakes: verdicts that are wrong. 'Not sure' is never counted as one.")
    d.metric("Not sure", s["not_sure"], help=f"Pictures it would not call: {honesty.band_words(clf)}.")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**What it said** (rows: the right answer)")
        st.table(verdict_table(s))
    with right, st.expander("Details for the teacher (statistics)", icon=":material/query_stats:"):
        st.markdown(
            f"Accuracy with every picture called at 50%: **{percent(s['accuracy'])}**; balanced accuracy (the two "
            f"classes weigh the same): **{percent(balanced(s))}**; calibration error (ECE, how far the AI score is "
            f"from how often it is right; 0% is perfect): **{percent(s['ece'])}**."
        )
        st.markdown("**Per class** at 50%")
        st.table(per_class_table(s))
        scored = [r for r in unseen if r.p_ai is not None]
        p = [r.p_ai for r in scored]
        y = [int(r.label == CLASS_NAMES[0]) for r in scored]
        st.pyplot(browse.reliability_figure(p, y), width="stretch")
