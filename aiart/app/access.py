"""Streamlit's side of `aiart.classroom.access`: is this browser the teacher's, and the join address.

`st.context.ip_address` is None exactly for a loopback connection (and outside a real server, as in
AppTest); Streamlit takes it from the TCP peer, not from a header, so a student cannot fake it. A
proxy in front makes every peer loopback, which its forwarding headers give away.
"""

from __future__ import annotations

import html

import streamlit as st
from streamlit import config

from aiart.classroom import access

TEACHER_KEY = "aiart-teacher"


def is_teacher() -> bool:
    """Decided once per browser session, from the machine, the teacher link or this browser's cookie.

    A valid token from the link moves into a cookie and out of the address bar, which the projector
    shows the class; a reload or a new tab of that browser is still the teacher's."""
    ss = st.session_state
    if TEACHER_KEY not in ss:
        linked = st.query_params.get("teacher")
        token = linked or access.cookie_token(st.context.cookies)
        peer_local = not isinstance(st.context.ip_address, str)  # None: loopback; no peer at all in AppTest
        ss[TEACHER_KEY] = access.is_teacher(peer_local, dict(st.context.headers), token)
        if linked is not None:
            if access.token_ok(linked):
                remember_token(linked)
            del st.query_params["teacher"]
    return ss[TEACHER_KEY]


def remember_token(token: str) -> None:
    """Have this browser keep the token as a cookie (the next session's handshake sends it back)."""
    set_cookie(access.token_cookie(token, served().base_path))


def set_cookie(assignment: str) -> None:
    """Run `document.cookie = assignment` in this browser: Streamlit reads cookies but cannot set them.
    `access.cookie` builds assignments with nothing for `html.escape` to change, so it is a safeguard."""
    st.html(f"<script>document.cookie = '{html.escape(assignment)}';</script>", unsafe_allow_javascript=True)


def served() -> access.Served:
    """The server's options as Streamlit reads them (command line, config.toml, environment)."""
    browser = config.get_option("browser.serverAddress") if config.is_manually_set("browser.serverAddress") else ""
    port = config.get_option("browser.serverPort") if config.is_manually_set("browser.serverPort") else None
    return access.Served(
        port=int(port or config.get_option("server.port")),
        listen=config.get_option("server.address") or "",
        browser_address=browser or "",
        base_path=config.get_option("server.baseUrlPath") or "",
        https=bool(config.get_option("server.sslCertFile")),
    )


@st.cache_resource(show_spinner=False)
def announce() -> None:
    """Print the teacher link in the server's terminal once per process (on the first page load)."""
    base, problem = access.public_base(served())
    print(
        f"\n  aiart teacher link (opens the teacher's pages from another device): "
        f"{access.teacher_url(base or access.url_of('localhost', served()))}",
        flush=True,
    )
    if problem:
        print(f"  aiart: {problem}", flush=True)


def join_base() -> tuple[str, str | None]:
    """The base URL for the join link and QR, and the problem to show when phones cannot use it."""
    base, problem = access.public_base(served())
    if base is None:
        here = st.context.url or access.url_of("localhost", served())
        base = here.rsplit("/", 1)[0]
    return base, problem
