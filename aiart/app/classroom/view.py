"""The Classroom page's projector layout: a round's picture, the class's buttons, the reveal, the presenter panel.

Sized for a projector: at 1280x800 and 1920x1080 the picture (and at the reveal, the picture and
its heatmap) fills the screen below one row of score without scrolling (CSS caps each image at
the viewport's height). What the class must not see before the reveal (file names, the right
answer) sits in a collapsed presenter panel, and the buttons have keyboard shortcuts.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from aiart.app import honesty, keep, ui
from aiart.app.classroom import state
from aiart.app.classroom.state import Round, Score
from aiart.cam.overlay import overlay
from aiart.config import CLASS_NAMES, UNSURE
from aiart.explain import DEFAULT_METHOD
from aiart.model.classifier import Classifier

AI, HUMAN = CLASS_NAMES
SOURCES = {
    "dataset": "The dataset (as on Browse and Train)",
    "classify": "Pictures uploaded on Classify",
    "uploads": "My uploads",
    "samples": "Pictures drawn by code",
}
BIG = (1800, 1200)  # pictures are drawn this large and scaled down by the browser to fit
PROJECTOR_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 4rem; padding-bottom: 1rem; }
h1 { font-size: 2rem !important; padding: 0 !important; }
.st-key-classroom-verdict h2 { font-size: 1.9rem !important; padding: 0 !important; }
.st-key-classroom-verdict h3 { font-size: 1.4rem !important; padding: 0 !important; }
.st-key-classroom-question h2 { font-size: 2rem !important; }
.st-key-classroom-buttons button { min-height: 3.6rem; white-space: nowrap; }
.st-key-classroom-buttons button p { font-size: 1.5rem !important; font-weight: 600; white-space: nowrap; }
.st-key-classroom-score [data-testid="stMetric"] { padding: 0.3rem 0.8rem; }
.st-key-classroom-score [data-testid="stMetricValue"] { font-size: 1.8rem; }
.st-key-classroom-score [data-testid="stMetricLabel"] p { font-size: 1rem; }
.st-key-classroom-picture img { max-height: calc(100vh - 250px); width: auto !important; max-width: 100%;
  object-fit: contain; margin: 0 auto; display: block; }
.st-key-classroom-images img { max-height: calc(100vh - 530px); width: auto !important; max-width: 100%;
  object-fit: contain; margin: 0 auto; display: block; }
.st-key-classroom-images [data-testid="stCaptionContainer"] p { font-size: 1.2rem; text-align: center; }
.st-key-classroom-notes p { font-size: 1.15rem; }
</style>
"""
SHORTCUTS = {AI: "A", HUMAN: "H", "reveal": "Enter", "next": "N"}


def style() -> None:
    st.html(PROJECTOR_CSS)


def score_row(score: Score, presenter: Callable[[], None]) -> None:
    """One compact row: class vs model, and the presenter panel's button at its end."""
    with st.container(horizontal=True, key="classroom-score", vertical_alignment="center"):
        st.metric("Class", f"{score.class_right} / {score.known}", border=True)
        st.metric("Model", f"{score.model_right} / {score.known}", border=True)
        st.metric("Class agreed with the model", f"{score.agreed} / {score.rounds}", border=True)
        st.space("stretch")
        with st.popover("Presenter", icon=":material/tune:", help="Settings and answers: not for the class."):
            presenter()


def presenter_panel(rnd: Round) -> None:
    """Source, uploads, the current file and its right answer, reset: kept off the projected page."""
    st.radio(
        "Images from",
        state.available_sources(),
        format_func=SOURCES.get,
        **keep.remembered("classroom_source", state.available_sources()[0], state.next_image),
    )
    if st.session_state["classroom_source"] == "uploads":
        st.file_uploader(
            "Images for the class",
            type=ui.IMAGE_TYPES,
            accept_multiple_files=True,
            key=state.UPLOADER,
            on_change=keep.keep_uploads(state.UPLOADER, then=state.new_uploads),
        )
        keep.kept_note(state.UPLOADER)
    if rnd.item is not None:
        st.caption(
            f"This image: {ui.escape_md(rnd.item.name)}" + (f" · {ui.escape_md(rnd.origin)}" if rnd.origin else "")
        )
        if rnd.item.truth:
            st.caption(f"Right answer: {ui.PRETTY[rnd.item.truth]}")
        elif rnd.p_ai is None and st.session_state["classroom_source"] == "uploads":
            st.radio(
                "Right answer (for the score)",
                [AI, HUMAN],
                format_func=ui.PRETTY.get,
                index=None,
                key="classroom_answer",
                help="Set it if you know where this image comes from; leave it empty otherwise.",
            )
    st.button("Reset the score", icon=":material/restart_alt:", on_click=state.reset_score, key="classroom-reset")
    st.caption("Keys: A = class says AI · H = class says human · Enter = reveal · N = next image.")


def guess_view(clf: Classifier, rnd: Round) -> None:
    """The picture, large, and the class's buttons; nothing about the model yet."""
    picture, controls = st.columns([4, 1], gap="medium")
    with picture.container(key="classroom-picture"):
        st.image(ui.fit(rnd.item.image, BIG), width="stretch")
    with controls.container(key="classroom-question"):
        st.markdown(f"## Image {rnd.number}")
        st.markdown("**AI-generated or made by a human?**")
    with controls.container(key="classroom-buttons"):
        for label, text, icon in ((AI, "AI", ":material/smart_toy:"), (HUMAN, "Human", ":material/brush:")):
            st.button(
                text,
                key=f"classroom-guess-{label}",
                icon=icon,
                type="primary" if rnd.guess == label else "secondary",
                on_click=state.set_guess,
                args=(label,),
                width="stretch",
                shortcut=SHORTCUTS[label],
                help=f"The class says {ui.PRETTY[label]}.",
            )
        st.button(
            "Reveal",
            key="classroom-reveal",
            icon=":material/visibility:",
            disabled=rnd.guess is None,
            on_click=state.reveal,
            args=(clf,),
            help="First let the class decide." if rnd.guess is None else "Show the model's verdict.",
            width="stretch",
            shortcut=SHORTCUTS["reveal"],
        )


def mark(right: bool) -> str:
    return ":green[:material/check_circle: right]" if right else ":red[:material/cancel: wrong]"


def reveal_view(clf: Classifier, rnd: Round) -> None:
    """The model's verdict (with "not sure" and its measured accuracy), the answer, and the heatmap with a legend."""
    said, answer = clf.verdict(rnd.p_ai), rnd.answer
    top, controls = st.columns([5, 1], gap="medium", vertical_alignment="center")
    with top.container(key="classroom-verdict"):
        st.markdown(f"## The model says: {honesty.WORDS[said]} · {honesty.score_words(rnd.p_ai)}")
        line = f"### The class said: {ui.PRETTY[rnd.guess]}"
        if answer:
            model = ":gray[:material/help: not sure]" if said == UNSURE else mark(said == answer)
            line += f" · the answer: {ui.PRETTY[answer]} · class {mark(rnd.guess == answer)} · model {model}"
        st.markdown(line)
        notes = [] if said == UNSURE else [honesty.verdict_note(clf)]
        if rnd.origin:
            notes.insert(0, f"From: {ui.escape_md(rnd.origin)}.")
        if rnd.seen:
            notes.append("The model trained on this image, so it had seen it before (every unseen one was shown).")
        if ui.close_up_face(rnd.item):
            notes.append(honesty.FACE_NOTE)
        if rnd.item.clues:  # the file's own metadata: a second line of evidence to discuss, never the model's
            said_by_file = " ".join(ui.escape_md(c.text) for c in rnd.item.clues)
            notes.append(f"The file itself says (the model never reads it): {said_by_file} Metadata can be faked.")
        with st.container(key="classroom-notes"):
            st.markdown(" ".join(notes) or "Too close to call: the model will not guess.")
    with controls.container(key="classroom-buttons"):
        st.button(
            "Next",
            icon=":material/skip_next:",
            on_click=state.next_image,
            key="classroom-next",
            type="primary",
            width="stretch",
            shortcut=SHORTCUTS["next"],
        )
    target = clf.label(rnd.p_ai)
    exp = ui.explanation(clf, rnd.item, ui.default_layer(clf), DEFAULT_METHOD, target)
    # Captions as text below, not `st.image(caption=...)`: a caption wider than a portrait image stretches it.
    with st.container(key="classroom-images"):
        left, right = st.columns(2, gap="medium")
        left.image(ui.fit(rnd.item.image, BIG), width="stretch")
        left.caption("The image")
        right.image(ui.fit(overlay(exp.image, exp.heatmap, 0.45), BIG), width="stretch")
        right.caption(f"{ui.LOOKS[target]} to the model ({ui.METHOD_LABELS[DEFAULT_METHOD]})")
    ui.heat_legend(target)
