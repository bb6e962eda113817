"""The teacher's side of a live class vote: the room's join code and QR, rounds, the projector tally.

The host's key (room code + token) lives only in this browser session. The tally is a fragment
polling the store twice a second while voting is open, so votes from every device (and every
server process or replica) show up without rerunning the page; it stops polling once voting closes.
A database outage shows as "The vote is paused" and passes by itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from PIL import Image

from aiart.app import honesty, ui
from aiart.app.classroom.state import Round, Score
from aiart.app.classroom.vote import PAUSED, classroom, pause_on_outage
from aiart.cam.overlay import overlay
from aiart.classroom import media
from aiart.classroom.rooms import TALLY_POLL_S, ClassroomError, HostKey, majority, summary_csv, summary_rows
from aiart.classroom.store import RoundInfo, StoreUnavailable, Tally
from aiart.config import CLASS_NAMES, UNSURE, WORDS
from aiart.model.classifier import Classifier

RIGHT, WRONG = ":green[:material/check_circle: right]", ":red[:material/cancel: wrong]"
LIVE_CSS = """
<style>
.st-key-live-code p { font-size: 4.2rem !important; font-weight: 800; letter-spacing: 0.4rem; line-height: 1.1; }
.st-key-live-code-small p { font-size: 2.4rem !important; font-weight: 800; letter-spacing: 0.25rem; }
.st-key-live-tally [data-testid="stMetricValue"] { font-size: 3rem; }
</style>
"""


def key() -> HostKey | None:
    return st.session_state.get("live_key")


def start() -> None:
    """A new room for this session's live rounds; the previous summary, if any, is dropped."""
    try:
        st.session_state["live_key"] = classroom().start()
    except StoreUnavailable:
        st.session_state["live_error"] = PAUSED
        return
    st.session_state.pop("live_rounds", None)
    st.session_state.pop("live_summary", None)


def act(action: Callable[[HostKey], object]) -> None:
    """Run a host action; a refusal (say, an expired room) ends live mode with its message, an outage pauses it."""
    try:
        action(key())
    except ClassroomError as exc:
        st.session_state.pop("live_key", None)
        st.session_state["live_error"] = str(exc)
    except StoreUnavailable:
        st.session_state["live_error"] = f"{PAUSED} Then click again."


def end() -> None:
    """End the room for every voter and keep its summary for this session to show."""

    def finish(k: HostKey) -> None:
        st.session_state["live_summary"] = classroom().results(k)
        classroom().end(k)
        st.session_state.pop("live_key", None)

    if key():
        act(finish)


def join_url(code: str) -> str:
    """The vote page's address as this browser reached the app, with the room in the query."""
    here = st.context.url or "http://localhost:8501/classroom"
    return f"{here.rsplit('/', 1)[0]}/vote?room={code}"


def join_panel(code: str, big: bool) -> None:
    """The QR code and the code in large type: big before the first round, one strip after."""
    url = join_url(code)
    if big:
        qr, text = st.columns([1, 3], vertical_alignment="center")
        qr.image(media.join_qr(url), width=260)
        with text:
            st.markdown(f"Join on your phone: scan the code, or open `{url}` and type")
            with st.container(key="live-code"):
                st.markdown(code)
    else:
        with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
            st.image(media.join_qr(url), width=84)
            with st.container(key="live-code-small", width="content"):
                st.markdown(code)
            st.markdown(f"Join at `{url}`")
    if "://localhost" in url or "://127.0.0.1" in url:
        st.caption("Phones cannot reach localhost: open this page by the computer's network address.")


def round_number(page_round: int) -> int | None:
    """The store's round for the page's current image, once voting on it has opened."""
    return st.session_state.get("live_rounds", {}).get(page_round)


def open_voting(page_round: int, item: ui.Item) -> None:
    def publish(k: HostKey) -> None:
        number = classroom().open_round(k, item.name, media.round_jpeg(item.image))
        st.session_state.setdefault("live_rounds", {})[page_round] = number

    act(publish)


def close_voting(number: int) -> None:
    act(lambda k: classroom().close_round(k, number))


def reveal(clf: Classifier, item: ui.Item, number: int, truth: str | None, score: Score) -> None:
    """Publish the answer (if known), the model's verdict and its Grad-CAM overlay; score the class majority."""
    p_ai = float(clf.predict([Image.fromarray(item.image)])[0])
    verdict = clf.verdict(p_ai)  # "not sure" inside the model's band, as on every other screen
    exp = ui.explanation(clf, item, ui.default_layer(clf), "gradcam", clf.label(p_ai))
    heatmap = media.png(overlay(exp.image, exp.heatmap, 0.45))

    def publish(k: HostKey) -> None:
        classroom().reveal(k, number, truth, p_ai, verdict, heatmap)
        if said := majority(classroom().tally(k.code, number)):
            score.add(said, verdict, truth)

    act(publish)


def tally_view(tally: Tally) -> None:
    """Votes in and the AI/human split as one bar."""
    with st.container(key="live-tally"):
        st.metric("Votes in", tally.total)
        share = tally.ai / tally.total if tally.total else 0.5
        text = f"AI-generated {tally.ai} · human-made {tally.human}"
        st.progress(share, text=text if tally.total else "No votes yet")


@st.fragment(run_every=TALLY_POLL_S)
@pause_on_outage
def live_tally(code: str, number: int) -> None:
    tally_view(classroom().tally(code, number))


def verdict_view(info: RoundInfo, tally: Tally, next_image: Callable[[], None]) -> None:
    """After the reveal: class majority vs model vs truth, the reasons, the image and its heatmap."""
    said = majority(tally)
    truth = info.truth
    cells = [
        ("The class", ui.PRETTY[said] if said else "split evenly", said),
        ("The model", f"{WORDS[info.verdict]} · {honesty.score_words(info.p_ai)}", info.verdict),
    ]
    columns = st.columns(3 if truth else 2)
    for col, (who, text, label) in zip(columns, cells):
        mark = "" if not truth or label in (None, UNSURE) else (RIGHT if label == truth else WRONG)
        col.markdown(f"#### {who}: {text} {mark}")
    if truth:
        columns[2].markdown(f"#### The answer: {ui.PRETTY[truth]}")
    picture, heat, why = st.columns([2, 2, 1.3], gap="medium")
    picture.image(info.image, width="stretch", caption="The image")
    looks = ui.LOOKS[info.verdict] if info.verdict in ui.LOOKS else ui.LOOKS[CLASS_NAMES[info.p_ai < 0.5]]
    heat.image(info.heatmap, width="stretch", caption=f"{looks} to the model (red = strongest)")
    with why:
        st.button("Next image", icon=":material/skip_next:", key="classroom-next", type="primary", on_click=next_image)
        tally_view(tally)
        if tally.reasons:
            st.bar_chart(pd.Series(tally.reasons, name="votes"), horizontal=True, height=220)
        else:
            st.caption("No reasons given.")


def summary_view() -> None:
    """Per image: the class's % right and whether the model was right; a CSV to keep."""
    results = st.session_state.get("live_summary")
    if not results:
        return
    st.subheader("How the class did")
    st.dataframe(pd.DataFrame(summary_rows(results)), hide_index=True, width="stretch")
    st.download_button(
        "Download the summary (CSV)",
        summary_csv(results),
        file_name="class-vote.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="live-csv",
    )


def sidebar() -> None:
    """Start a live round (a room for the class to join) or end it, with the summary kept."""
    if key() is None:
        st.button("Start a live round", icon=":material/groups:", on_click=start, key="live-start", type="primary")
        st.caption("Every student votes from a phone or laptop; the projector shows the tally.")
    else:
        st.button("End the live session", icon=":material/stop_circle:", on_click=end, key="live-end")


def big_image(item: ui.Item) -> None:
    st.image(ui.fit(item.image, (1000, 480)), width="content")


@pause_on_outage
def live_round(
    clf: Classifier, page_round: Round, score: Score, answer: str | None, next_image: Callable[[], None]
) -> None:
    """The projector in live mode: the image, then voting with a live tally, then the reveal.

    `page_round` is the Classroom page's round (its number and drawn image); `answer` the right
    answer if known; `score` the page's class-vs-model score, which the class majority feeds.
    """
    st.html(LIVE_CSS)
    host, item = key(), page_round.item
    number = round_number(page_round.number)
    join_panel(host.code, big=not st.session_state.get("live_rounds"))
    info = classroom().current(host.code) if number else None
    if info is None or info.number != number:
        picture, controls = st.columns([5, 2], gap="medium")
        with picture:
            big_image(item)
        with controls.container(key="classroom-buttons"):
            st.button(
                "Open voting",
                icon=":material/how_to_vote:",
                key="live-open",
                type="primary",
                on_click=open_voting,
                args=(page_round.number, item),
                width="stretch",
            )
            st.button("Skip this image", icon=":material/skip_next:", key="live-skip", on_click=next_image)
        return
    tally = classroom().tally(host.code, number)
    if info.state == "revealed":
        verdict_view(info, tally, next_image)
        return
    picture, side = st.columns([5, 2], gap="medium")
    with picture:
        big_image(item)
    with side.container(key="classroom-buttons"):
        if info.state == "open":
            live_tally(host.code, number)
            st.button("Close voting", icon=":material/lock:", key="live-close", on_click=close_voting, args=(number,))
        else:
            tally_view(tally)
            st.button(
                "Reveal",
                icon=":material/visibility:",
                key="classroom-reveal",
                type="primary",
                on_click=reveal,
                args=(clf, item, number, answer, score),
                width="stretch",
            )
