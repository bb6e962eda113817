"""Classroom: one image big on the projector; the class guesses first, then the model's verdict and heatmap.

The verdict stays hidden until the class has committed to a guess, so students reason from the
picture, not from the machine. A running score (this browser session) pits the class against
the model wherever the right answer is known: dataset images carry their label, and for uploads
the presenter can set it. Pictures drawn by code have no right answer; they count for agreement.
Rounds, score and the buttons' callbacks live in `aiart.app.classroom.state`, the projector layout
and the presenter panel in `aiart.app.classroom.view`. "Start a live round"
lets every student vote from a phone instead (`aiart.app.classroom.live_host`).
"""

import streamlit as st

from aiart.app import ui
from aiart.app.classroom import live_host, state, view

view.style()
ui.page_header(":material/co_present: Classroom")
clf = ui.require_classifier()

with st.sidebar:
    st.subheader("Live class vote")
    live_host.sidebar()

rnd, score = state.state()
if rnd.item is None and not rnd.problems:
    state.next_image()
    rnd, score = state.state()

view.score_row(score, lambda: view.presenter_panel(rnd))

if error := st.session_state.pop("live_error", None):
    st.warning(error, icon=":material/timer_off:")
if live_host.summary_view():  # after "End the live session", until the teacher goes back to the pictures
    st.stop()
for problem in rnd.problems:
    st.warning(f"Skipped {ui.escape_md(problem)}", icon=":material/broken_image:")
if rnd.item is None:
    st.info(
        "Upload images in the Presenter panel (the class will see them one at a time), or pick another source.",
        icon=":material/upload:",
    )
    st.button("Next image", icon=":material/skip_next:", on_click=state.next_image, key="classroom-next")
    st.stop()

if live_host.key():
    answer = rnd.item.truth or st.session_state.get("classroom_answer")
    live_host.live_round(clf, rnd, score, answer, state.next_image)
    st.stop()
if rnd.p_ai is None:
    view.guess_view(clf, rnd)
else:
    view.reveal_view(clf, rnd)
