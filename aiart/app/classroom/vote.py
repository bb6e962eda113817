"""The voter's phone in a live class vote: join by code, vote on the round's image, see the reveal.

Everything a voter sees comes from the shared store (`aiart.classroom`), never from the host's
session, so it works across server processes; the view is a fragment that polls about once a
second, so the next image and the reveal arrive without a full page rerun.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from typing import ParamSpec

import streamlit as st

from aiart.app import access, honesty, ui
from aiart.classroom.access import cookie
from aiart.classroom.connect import configured, open_store
from aiart.classroom.rooms import POLL_S, REASONS, Classroom, ClassroomError, CodeLimiter
from aiart.classroom.store import RoundInfo, StoreUnavailable
from aiart.config import CLASS_NAMES, WORDS

DEVICE_COOKIE = "aiart_device"
DEVICE_ID = re.compile(r"[0-9a-f]{24}")
ICONS = {"AI_GENERATED": ":material/smart_toy:", "NON_AI_GENERATED": ":material/brush:"}
PHONE_CSS = """
<style>
.st-key-vote-buttons button { min-height: 4.5rem; }
.st-key-vote-buttons button p { font-size: 1.5rem !important; font-weight: 600; }
.st-key-vote-result h2 { font-size: 1.8rem !important; }
</style>
"""


PAUSED = "The vote is paused: the class's database cannot be reached. It carries on by itself once it is back."
P = ParamSpec("P")


@st.cache_resource(show_spinner=False, max_entries=4)
def _classroom(target: str) -> Classroom:
    return Classroom(open_store(target))


def classroom() -> Classroom:
    """One per process and store (`$AIART_CLASSROOM_DB`: a SQLite file, or a postgresql:// URL)."""
    return _classroom(configured())


def pause_on_outage(view: Callable[P, None]) -> Callable[P, None]:
    """A database outage (a PostgreSQL restart, say) shows as a pause, not a traceback; polling views retry."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            view(*args, **kwargs)
        except StoreUnavailable:
            st.warning(PAUSED, icon=":material/pause_circle:")

    return guarded


def device() -> str:
    """This phone's voter id: one vote per device per round, whatever it does.

    Kept in a cookie and in the page's URL, so a reload, a reconnect or a second scan of the QR code
    is the same voter; a new browser session without either gets a new random id."""
    ss = st.session_state
    if "vote_device" not in ss:
        given = [st.context.cookies.get(DEVICE_COOKIE), st.query_params.get("device")]
        ss["vote_device"] = next((d for d in given if isinstance(d, str) and DEVICE_ID.fullmatch(d)), None) or (
            secrets.token_hex(12)
        )
    return ss["vote_device"]


def remember_device() -> None:
    """Put the id in the URL and (for a later scan of the QR code) in a cookie for the rest of the day."""
    dev = device()
    if st.query_params.get("device") != dev:
        st.query_params["device"] = dev
    if st.context.cookies.get(DEVICE_COOKIE) != dev:
        access.set_cookie(cookie(DEVICE_COOKIE, dev, access.served().base_path, same_site="Lax"))


def try_join(text: str) -> None:
    """Join the room `text` names; a refusal (bad, ended or too many codes) is kept to be shown."""
    ss = st.session_state
    try:
        ss["vote_room"] = classroom().join(text, ss.setdefault("vote_limiter", CodeLimiter()))
        st.query_params["room"] = ss["vote_room"]
        ss.pop("vote_error", None)
    except ClassroomError as exc:
        ss["vote_error"] = str(exc)
    except StoreUnavailable:
        ss["vote_error"] = PAUSED


def join_form() -> str | None:
    """The joined room's code; until then a code box (filled from the link's ?room=) and None."""
    ss = st.session_state
    link = st.query_params.get("room")
    if link and "vote_room" not in ss and not ss.get("vote_link_tried"):
        ss["vote_link_tried"] = True  # a link is tried once; a bad one then waits for the box
        try_join(link)
    if "vote_room" in ss:
        return ss["vote_room"]
    if error := ss.get("vote_error"):
        st.error(error, icon=":material/error:")
    with st.form("vote-join", border=False):
        code = st.text_input("Code on the screen", value=link or "", max_chars=9, placeholder="e.g. K7PM3Q")
        if st.form_submit_button("Join", icon=":material/login:", type="primary", width="stretch"):
            try_join(code)
            st.rerun()
    return None


def leave() -> None:
    for key in ("vote_room", "vote_link_tried"):
        st.session_state.pop(key, None)
    st.query_params.pop("room", None)  # the device id stays: still one voter


def cast(code: str, number: int, choice: str) -> None:
    """Record (or change) this device's vote with the reason chip chosen, if any."""
    ss = st.session_state
    try:
        classroom().vote(code, number, device(), choice, ss.get(f"vote-reason-{number}"))
        ss.setdefault("vote_mine", {})[(code, number)] = choice
    except ClassroomError as exc:
        ss["vote_error"] = str(exc)
    except StoreUnavailable:
        ss["vote_error"] = f"{PAUSED} Then tap your answer again."


def recast(code: str, number: int) -> None:
    """A reason picked after voting updates the vote already cast."""
    if choice := st.session_state.get("vote_mine", {}).get((code, number)):
        cast(code, number, choice)


def score_line(code: str) -> str:
    right, counted = classroom().score(code, device())
    return f"Your score: **{right} / {counted}**" if counted else "No score yet: no answers known so far."


def open_view(code: str, rnd: RoundInfo, mine: str | None) -> None:
    st.pills(
        "Why? (optional)",
        REASONS,
        key=f"vote-reason-{rnd.number}",
        on_change=recast,
        args=(code, rnd.number),
    )
    with st.container(key="vote-buttons"):
        for label in CLASS_NAMES:
            st.button(
                ui.PRETTY[label],
                icon=ICONS[label],
                key=f"vote-{label}",
                type="primary" if mine == label else "secondary",
                on_click=cast,
                args=(code, rnd.number, label),
                width="stretch",
            )
    if mine:
        st.caption(f"You said {ui.PRETTY[mine]}. You can change your vote until voting closes.")


def reveal_view(code: str, rnd: RoundInfo, mine: str | None) -> None:
    with st.container(key="vote-result"):
        if rnd.truth:
            st.markdown(f"## The answer: {ui.PRETTY[rnd.truth]}")
        st.markdown(f"The model says **{WORDS[rnd.verdict]}** · {honesty.score_words(rnd.p_ai)}")
        if mine and rnd.truth:
            st.markdown(":green[**You were right!**]" if mine == rnd.truth else f":red[You said {ui.PRETTY[mine]}.]")
        elif not mine:
            st.markdown("You did not vote this time.")
    st.image(rnd.heatmap, caption="What the model looked at (red = strongest)", width="stretch")
    st.markdown(score_line(code))


@st.fragment(run_every=POLL_S)
@pause_on_outage
def voter_view(code: str) -> None:
    """The current round as this voter should see it: waiting, voting, closed or revealed."""
    room = classroom()
    if room.ended(code):
        st.info("This class has ended. Thanks for voting!", icon=":material/flag:")
        st.markdown(score_line(code))
        st.button("Join another class", icon=":material/login:", on_click=leave, key="vote-leave")
        return
    st.caption(f"Class {code}")
    rnd = room.current(code)
    if rnd is None:
        st.info("You are in! The first image comes up in a moment.", icon=":material/hourglass_top:")
        return
    if error := st.session_state.pop("vote_error", None):
        st.warning(error, icon=":material/lock_clock:")
    mine = st.session_state.get("vote_mine", {}).get((code, rnd.number))
    st.markdown(f"**Image {rnd.number}: AI-generated or human-made?**")
    if rnd.state != "revealed":
        st.image(rnd.image, width="stretch")
    if rnd.state == "open":
        open_view(code, rnd, mine)
    elif rnd.state == "closed":
        said = f" You said {ui.PRETTY[mine]}." if mine else ""
        st.info(f"Voting has closed.{said} Wait for the answer...", icon=":material/hourglass_top:")
    else:
        reveal_view(code, rnd, mine)


def page() -> None:
    """The whole voter page: narrow, big buttons, no sidebar needed."""
    st.set_page_config(layout="centered", initial_sidebar_state="collapsed")
    st.html(PHONE_CSS)
    ui.page_header(":material/how_to_vote: AI or human?", students=True)
    remember_device()
    if code := join_form():
        voter_view(code)
