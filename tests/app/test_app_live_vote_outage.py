"""The live vote on PostgreSQL through AppTest: a database restart mid-round pauses the pages, never breaks them."""

from __future__ import annotations

import time

from aiart.app.classroom.vote import PAUSED
from tests.app.test_app_live_vote import AI, CLASSROOM, HUMAN, voter
from tests.conftest import open_app


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_a_postgres_restart_pauses_the_vote_and_it_carries_on(
    postgres, postgres_url, monkeypatch, small_classifier, labelled_folder
):
    monkeypatch.setenv("AIART_CLASSROOM_DB", postgres_url)
    host = open_app(CLASSROOM, monkeypatch, small_classifier, labelled_folder)
    host.button(key="live-start").click().run()
    host.button(key="live-open").click().run()
    phone = voter(host.session_state["live_key"].code)
    phone.button(key=f"vote-{AI}").click().run()
    assert not phone.exception and host.run().metric[-1].value == "1"

    postgres.stop()
    try:
        phone.run()
        assert not phone.exception and PAUSED in warnings(phone)  # the phone says so, no traceback
        host.run()
        assert not host.exception and PAUSED in warnings(host)  # and so does the projector
    finally:
        postgres.start()

    deadline = time.monotonic() + 30
    while PAUSED in warnings(phone.run()):  # the same app process reconnects by itself
        assert time.monotonic() < deadline, "the vote page did not recover within 30 s of the restart"
    phone.button(key=f"vote-{HUMAN}").click().run()  # the student changes their mind after the pause
    assert not phone.exception and "You said" in "\n".join(c.value for c in phone.caption)
    host.run()
    assert not host.exception and PAUSED not in warnings(host)
    assert host.metric[-1].value == "1"  # one device, one vote: the same student, not a second vote
    assert host.get("progress")[0].proto.text == "AI-generated 0 · human-made 1"
