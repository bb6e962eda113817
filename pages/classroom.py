"""Classroom: one image big on the projector; the class guesses first, then the model's verdict and heatmap.

The verdict stays hidden until the class has committed to a guess, so students reason from the
picture, not from the machine. A running score (this browser session) pits the class against
the model wherever the right answer is known: dataset images carry their label, and for uploads
the presenter can set it. Pictures drawn by code have no right answer; they count for agreement.
Rounds, score and the buttons' callbacks live in `aiart.app.classroom_state`. "Start a live round"
lets every student vote from a phone instead (`aiart.app.live_host`).
"""

import streamlit as st

from aiart.app import classroom_state, live_host, ui
from aiart.cam.overlay import overlay
from aiart.config import CLASS_NAMES

AI, HUMAN = CLASS_NAMES
SOURCES = {"dataset": "Random dataset image", "uploads": "My uploads", "samples": "Pictures drawn by code"}
PROJECTOR_CSS = """
<style>
h1 { font-size: 3.2rem !important; }
.st-key-classroom-verdict h2 { font-size: 2.6rem !important; }
.st-key-classroom-verdict h3 { font-size: 2rem !important; }
.st-key-classroom-buttons button { min-height: 4rem; padding: 0.5rem 2rem; }
.st-key-classroom-buttons button p { font-size: 1.7rem !important; font-weight: 600; }
.st-key-classroom-score [data-testid="stMetricValue"] { font-size: 3.4rem; }
.st-key-classroom-score [data-testid="stMetricLabel"] p { font-size: 1.4rem; }
.st-key-classroom-images [data-testid="stCaptionContainer"] p { font-size: 1.3rem; }
</style>
"""

st.html(PROJECTOR_CSS)
ui.page_header(":material/co_present: Classroom")
clf = ui.require_classifier()

with st.sidebar:
    st.subheader("Presenter")
    sources = classroom_state.available_sources()
    st.radio(
        "Images from", sources, format_func=SOURCES.get, key="classroom_source", on_change=classroom_state.next_image
    )
    if st.session_state["classroom_source"] == "uploads":
        st.file_uploader(
            "Images for the class",
            type=ui.IMAGE_TYPES,
            accept_multiple_files=True,
            key="classroom_uploads",
            on_change=classroom_state.new_uploads,
        )
    st.button(
        "Reset the score", icon=":material/restart_alt:", on_click=classroom_state.reset_score, key="classroom-reset"
    )
    st.subheader("Live class vote")
    live_host.sidebar()

rnd, score = classroom_state.state()
if rnd.item is None and not rnd.problems:
    classroom_state.next_image()
    rnd, score = classroom_state.state()

with st.container(horizontal=True, key="classroom-score"):
    st.metric("Class", f"{score.class_right} / {score.known}", border=True)
    st.metric("Model", f"{score.model_right} / {score.known}", border=True)
    st.metric("Class agreed with the model", f"{score.agreed} / {score.rounds}", border=True)

if error := st.session_state.pop("live_error", None):
    st.warning(error, icon=":material/timer_off:")
live_host.summary_view()
for problem in rnd.problems:
    st.warning(f"Skipped {ui.escape_md(problem)}", icon=":material/broken_image:")
if rnd.item is None:
    st.info(
        "Upload images in the sidebar (the class will see them one at a time), or pick another source.",
        icon=":material/upload:",
    )
    st.button("Next image", icon=":material/skip_next:", on_click=classroom_state.next_image, key="classroom-next")
    st.stop()

item = rnd.item
if rnd.p_ai is None and item.truth is None and st.session_state["classroom_source"] == "uploads":
    st.sidebar.radio(
        "Right answer (for the score)",
        [AI, HUMAN],
        format_func=ui.PRETTY.get,
        index=None,
        key="classroom_answer",
        help="Set it if you know where this image comes from; leave it empty otherwise.",
    )
if live_host.key():
    answer = item.truth or st.session_state.get("classroom_answer")
    live_host.live_round(clf, rnd, score, answer, classroom_state.next_image)
    st.stop()
if rnd.p_ai is None:
    st.subheader(f"Image {rnd.number}: AI-generated or made by a human?")
    picture, controls = st.columns([5, 2], gap="medium")
    picture.image(ui.fit(item.image, (1000, 520)), width="content")
    with controls.container(key="classroom-buttons"):
        for label, text in ((AI, "Class says AI"), (HUMAN, "Class says human")):
            st.button(
                text,
                key=f"classroom-guess-{label}",
                type="primary" if rnd.guess == label else "secondary",
                on_click=classroom_state.set_guess,
                args=(label,),
                width="stretch",
            )
        st.button(
            "Reveal",
            key="classroom-reveal",
            icon=":material/visibility:",
            disabled=rnd.guess is None,
            on_click=classroom_state.reveal,
            args=(clf,),
            help="First let the class decide." if rnd.guess is None else None,
            width="stretch",
        )
    st.stop()

label, answer = clf.label(rnd.p_ai), rnd.answer
verdict, controls = st.columns([4, 1], gap="medium", vertical_alignment="center")
with verdict.container(key="classroom-verdict"):
    st.markdown(f"## The model says: {ui.PRETTY[label]} · P(AI) = {rnd.p_ai:.0%}")
    line = f"### The class said: {ui.PRETTY[rnd.guess]}"
    if answer:
        line += f" · the answer: {ui.PRETTY[answer]}"
        line += f" · class {'✅' if rnd.guess == answer else '❌'} · model {'✅' if label == answer else '❌'}"
    st.markdown(line)
with controls.container(key="classroom-buttons"):
    st.button(
        "Next image",
        icon=":material/skip_next:",
        on_click=classroom_state.next_image,
        key="classroom-next",
        type="primary",
        width="stretch",
    )
exp = ui.explanation(clf, item, ui.default_layer(clf), "gradcam", label)
# Captions as text below, not `st.image(caption=...)`: a caption wider than a portrait image stretches it.
with st.container(key="classroom-images"):
    left, right = st.columns(2, gap="medium")
    left.image(ui.fit(item.image, (900, 480)), width="content")
    left.caption("The image")
    right.image(ui.fit(overlay(exp.image, exp.heatmap, 0.45), (900, 480)), width="content")
    right.caption(f"{ui.LOOKS[label]} to the model (Grad-CAM: red = strongest)")
