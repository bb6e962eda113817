"""The rules of a live class vote: codes, the host's key, rate-limited joins, fixed votes, summaries."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from PIL import Image

from aiart.classroom import media
from aiart.classroom.rooms import (
    ALPHABET,
    WRONG_CODES,
    WRONG_WINDOW_S,
    Classroom,
    CodeLimiter,
    HostKey,
    NotHost,
    RoomNotFound,
    TooManyTries,
    VotingClosed,
    majority,
    new_code,
    normalise_code,
    summary_csv,
)
from aiart.classroom.store import Tally
from aiart.config import UNSURE

AI, HUMAN = "AI_GENERATED", "NON_AI_GENERATED"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def room(store, clock):
    return Classroom(store, clock)


def test_codes_are_short_and_unambiguous():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 6 and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01OIL") & set(ALPHABET)
    assert normalise_code(" ab3-k9x ") == "AB3K9X"
    assert normalise_code("AB3K9") is None and normalise_code("AB3K9O") is None and normalise_code("") is None


def test_only_the_host_key_runs_the_room(room):
    key = room.start()
    number = room.open_round(key, "a.png", b"jpeg")
    thief = HostKey(key.code, "guessed")
    for action in (
        lambda: room.open_round(thief, "b.png", b"jpeg"),
        lambda: room.close_round(thief, number),
        lambda: room.reveal(thief, number, AI, 0.9, AI, b"png"),
        lambda: room.end(thief),
        lambda: room.results(thief),
    ):
        with pytest.raises(NotHost):
            action()
    assert room.current(key.code).state == "open"


def test_votes_are_fixed_choices_for_the_open_round(room):
    key = room.start()
    n = room.open_round(key, "a.png", b"jpeg")
    room.vote(key.code, n, "dev", AI, "hands")
    with pytest.raises(ValueError):
        room.vote(key.code, n, "dev", "<b>AI</b>")
    with pytest.raises(ValueError):
        room.vote(key.code, n, "dev", AI, "<script>")
    room.close_round(key, n)
    with pytest.raises(VotingClosed):
        room.vote(key.code, n, "dev", HUMAN)
    assert room.tally(key.code, n) == Tally(1, 0, {"hands": 1})


def test_reveal_closes_voting_and_scores_each_device(room):
    key = room.start()
    n = room.open_round(key, "a.png", b"jpeg")
    assert room.current(key.code).truth is None
    room.vote(key.code, n, "right", AI)
    room.vote(key.code, n, "wrong", HUMAN)
    room.reveal(key, n, AI, 0.3, HUMAN, b"png")  # straight from open: closed first, then revealed
    shown = room.current(key.code)
    assert (shown.state, shown.truth, shown.verdict) == ("revealed", AI, HUMAN)
    assert room.score(key.code, "right") == (1, 1) and room.score(key.code, "nobody") == (0, 0)
    n2 = room.open_round(key, "drawn by code", b"jpeg")
    room.vote(key.code, n2, "right", AI)
    room.reveal(key, n2, None, 0.7, AI, b"png")  # no known answer: counts for nobody's score
    assert room.score(key.code, "right") == (1, 1)

    n3 = room.open_round(key, "c.png", b"jpeg")
    room.reveal(key, n3, HUMAN, 0.55, UNSURE, b"png")  # inside the band: "not sure" is never a mistake

    rows = list(csv.DictReader(io.StringIO(summary_csv(room.results(key)))))
    assert [r["picture"] for r in rows] == ["a.png", "drawn by code", "c.png"]
    assert [r["image"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["class right (%)"] == "50" and rows[0]["model was"] == "wrong"
    assert rows[0]["model said"] == "human-made" and rows[0]["right answer"] == "AI-generated"
    assert rows[1]["right answer"] == "" and rows[1]["class right (%)"] == "" and rows[1]["votes for AI"] == "1"
    assert rows[1]["model was"] == "" and rows[1]["model's AI score (%)"] == "70"
    assert rows[2]["model said"] == "not sure" and rows[2]["model was"] == "not sure"


def test_wrong_codes_are_rate_limited_per_session(room, clock):
    key = room.start()
    limiter = CodeLimiter()
    assert room.join(key.code.lower(), limiter) == key.code
    for _ in range(WRONG_CODES):
        with pytest.raises(RoomNotFound, match="no live class"):
            room.join("ZZZZZZ", limiter)
    with pytest.raises(TooManyTries, match="seconds"):
        room.join(key.code, limiter)  # even the right code waits now
    assert room.join(key.code, CodeLimiter()) == key.code  # another session is not held up
    clock.now += WRONG_WINDOW_S
    assert room.join(key.code, limiter) == key.code


def test_ended_and_expired_rooms_turn_voters_away(room, clock):
    key = room.start()
    room.end(key)
    assert room.ended(key.code)
    with pytest.raises(RoomNotFound):
        room.join(key.code, CodeLimiter())
    old = room.start()
    clock.now += 5 * 3600
    assert room.ended(old.code)
    with pytest.raises(RoomNotFound):
        room.open_round(old, "late.png", b"jpeg")
    room.start()  # starting a room cleans expired ones up
    assert room.current(old.code) is None


def test_majority_needs_more_votes_on_one_side():
    assert majority(Tally(3, 2)) == AI and majority(Tally(1, 4)) == HUMAN
    assert majority(Tally(2, 2)) is None and majority(Tally()) is None


def test_round_pictures_are_small_and_the_qr_is_a_png():
    big = np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)
    jpeg = Image.open(io.BytesIO(media.round_jpeg(big)))
    assert jpeg.format == "JPEG" and max(jpeg.size) == media.ROUND_SIDE
    qr = Image.open(io.BytesIO(media.join_qr("http://192.168.1.20:8501/vote?room=AB3K9X")))
    assert qr.format == "PNG" and qr.size[0] == qr.size[1] > 200
