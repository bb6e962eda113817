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

from aiart.app import access, honesty, ui
from aiart.app.classroom.state import Round, Score
from aiart.app.classroom.vote import PAUSED, classroom, pause_on_outage
from aiart.cam.overlay import overlay
from aiart.classroom import media
from aiart.classroom.access import join_url
from aiart.classroom.rooms import TALLY_POLL_S, ClassroomError, HostKey, majority, summary_csv, summary_rows
from aiart.classroom.store import RoundInfo, StoreUnavailable, Tally
from aiart.config import CLASS_NAMES, UNSURE, WORDS
from aiart.explain import DEFAULT_METHOD
from aiart.model.classifier import Classifier

RIGHT, WRONG = ":green[:material/check_circle: right]", ":red[:material/cancel: wrong]"
BIG = (1800, 1200)  # pictures are drawn this large and scaled down by the browser (CSS) to fit the screen
LIVE_CSS = """
<style>
.st-key-live-code p { font-size: min(3rem, 3.4vw) !important; font-family: 'Source Code Pro', monospace;
  font-weight: 800; letter-spacing: 0.3rem; line-height: 1.1; white-space: nowrap; }
.st-key-live-join [data-testid="stCaptionContainer"] p { font-size: 0.95rem; overflow-wrap: anywhere; }
.st-key-live-tally [data-testid="stMetricValue"] { font-size: 2.6rem; }
.st-key-live-picture img { max-height: calc(100vh - 250px); width: auto !important; max-width: 100%;
  object-fit: contain; margin: 0 auto; display: block; }
.st-key-live-images img { max-height: calc(100vh - 330px); width: auto !important; max-width: 100%;
  object-fit: contain; margin: 0 auto; display: block; }
.st-key-live-images [data-testid="stCaptionContainer"] p { font-size: 1.1rem; text-align: center; }
.st-key-live-verdict h4 { font-size: 1.5rem !important; padding: 0 0 0.3rem 0 !important; }
</style>
"""
SUMMARY_ROWS_SHOWN = 8  # the summary table scrolls inside itself beyond this, so the page never does


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


def join_panel(code: str) -> None:
    """Beside the picture: the QR code, the code in large type and the link. The link is the machine's
    network address (or the one the teacher set), never the projector's localhost."""
    base, problem = access.join_base()
    url = join_url(base, code)
    with st.container(key="live-join", gap="small"):
        st.image(media.join_qr(url), width=150)
        with st.container(key="live-code"):
            st.markdown(code)
        st.caption(f"Scan the code, or open `{url}`")
    if problem:
        st.warning(problem, icon=":material/wifi_off:")


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
    """Publish the answer (if known), the model's verdict and its heatmap; score the class majority."""
    p_ai = float(clf.predict([Image.fromarray(item.image)])[0])
    verdict = clf.verdict(p_ai)  # "not sure" inside the model's band, as on every other screen
    exp = ui.explanation(clf, item, ui.default_layer(clf), DEFAULT_METHOD, clf.label(p_ai))
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
        share = tally.ai / tally.total if tally.total else 0.0  # an empty bar until someone votes
        text = f"AI-generated {tally.ai} · human-made {tally.human}"
        st.progress(share, text=text if tally.total else "No votes yet")


@st.fragment(run_every=TALLY_POLL_S)
@pause_on_outage
def live_tally(code: str, number: int) -> None:
    tally_view(classroom().tally(code, number))


def verdict_view(info: RoundInfo, tally: Tally, next_image: Callable[[], None]) -> None:
    """After the reveal: class majority vs model vs truth, the image and its heatmap, the votes and reasons."""
    said = majority(tally)
    truth = info.truth
    cells = [
        ("The class", ui.PRETTY[said] if said else "split evenly", said),
        ("The model", f"{WORDS[info.verdict]} · {honesty.score_words(info.p_ai)}", info.verdict),
    ]
    with st.container(key="live-verdict"):
        columns = st.columns(3 if truth else 2)
        for col, (who, text, label) in zip(columns, cells):
            mark = "" if not truth or label in (None, UNSURE) else (RIGHT if label == truth else WRONG)
            col.markdown(f"#### {who}: {text} {mark}")
        if truth:
            columns[2].markdown(f"#### The answer: {ui.PRETTY[truth]}")
    with st.container(key="live-images"):
        picture, heat, why = st.columns([2, 2, 1.3], gap="medium")
        picture.image(info.image, width="stretch")
        picture.caption("The image")
        looks = ui.LOOKS[info.verdict] if info.verdict in ui.LOOKS else ui.LOOKS[CLASS_NAMES[info.p_ai < 0.5]]
        heat.image(info.heatmap, width="stretch")
        heat.caption(f"{looks} to the model (red = strongest)")
    with why:
        st.button("Next image", icon=":material/skip_next:", key="classroom-next", type="primary", on_click=next_image)
        tally_view(tally)
        if tally.reasons:
            st.bar_chart(pd.Series(tally.reasons, name="votes"), horizontal=True, height=200)
        else:
            st.caption("No reasons given.")


def summary_view() -> bool:
    """After "End the live session": per image, the class's % right and whether the model was right, a CSV
    to keep, and a button back to the pictures. True while it is on screen (the page shows nothing else)."""
    results = st.session_state.get("live_summary")
    if not results:
        return False
    rows = summary_rows(results)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.subheader("How the class did")
        st.space("stretch")
        st.download_button(
            "Download the summary (CSV)",
            summary_csv(results),
            file_name="class-vote.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="live-csv",
        )
        st.button("Back to the pictures", icon=":material/arrow_forward:", key="live-summary-done", on_click=done)
    shown = min(len(rows), SUMMARY_ROWS_SHOWN)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=38 + 35 * shown)
    return True


def done() -> None:
    st.session_state.pop("live_summary", None)


def sidebar() -> None:
    """Start a live round (a room for the class to join) or end it, with the summary kept; before the
    lesson, say so if phones could not reach this server."""
    if key() is None:
        st.button("Start a live round", icon=":material/groups:", on_click=start, key="live-start", type="primary")
        st.caption("Every student votes from a phone or laptop; the projector shows the tally.")
        if problem := access.join_base()[1]:
            st.warning(problem, icon=":material/wifi_off:")
    else:
        st.button("End the live session", icon=":material/stop_circle:", on_click=end, key="live-end")


@pause_on_outage
def live_round(
    clf: Classifier, page_round: Round, score: Score, answer: str | None, next_image: Callable[[], None]
) -> None:
    """The projector in live mode: the image with the join code beside it, then voting with a live tally,
    then the reveal. Every state fits 1280x800 and 1920x1080 (CSS caps the pictures at the screen's height).

    `page_round` is the Classroom page's round (its number and drawn image); `answer` the right
    answer if known; `score` the page's class-vs-model score, which the class majority feeds.
    """
    st.html(LIVE_CSS)
    host, item = key(), page_round.item
    number = round_number(page_round.number)
    info = classroom().current(host.code) if number else None
    current = info is not None and info.number == number
    if current and info.state == "revealed":
        verdict_view(info, classroom().tally(host.code, number), next_image)
        return
    picture, side = st.columns([5, 2], gap="medium")
    with picture.container(key="live-picture"):
        st.image(ui.fit(item.image, BIG), width="stretch")
    with side:
        join_panel(host.code)
        with st.container(key="classroom-buttons"):
            if not current:
                st.button(
                    "Open voting",
                    icon=":material/how_to_vote:",
                    key="live-open",
                    type="primary",
                    on_click=open_voting,
                    args=(page_round.number, item),
                    width="stretch",
                )
                st.button("Skip", icon=":material/skip_next:", key="live-skip", on_click=next_image, width="stretch")
            elif info.state == "open":
                live_tally(host.code, number)
                st.button(
                    "Close voting", icon=":material/lock:", key="live-close", on_click=close_voting, args=(number,)
                )
            else:
                tally_view(classroom().tally(host.code, number))
                st.button(
                    "Reveal",
                    icon=":material/visibility:",
                    key="classroom-reveal",
                    type="primary",
                    on_click=reveal,
                    args=(clf, item, number, answer, score),
                    width="stretch",
                )
