"""The rules of a live class vote: join codes, the host's key, rounds, votes, expiry, summaries.

A room is what a class joins for a lesson. Its code is short enough to type from a projector
(6 characters, none that read alike), and its host token, held only in the teacher's session,
is what opens, closes, reveals and ends rounds. Voters send nothing but a fixed choice and an
optional fixed reason, so no text a student typed is ever shown to the class.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiart.classroom.store import ClassroomStore, RoundInfo, RoundResult, Tally
from aiart.config import CLASS_NAMES, UNSURE, WORDS

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector without doubt
CODE_LENGTH = 6  # 31**6 ~ 9e8 codes: with wrong tries rate-limited, guessing a live room is hopeless
ROOM_HOURS = 4.0  # a room lives this long after its last round opened
REASONS = ("hands", "faces", "texture", "light", "too perfect", "background", "text", "style")
POLL_S = 1.0  # how often a phone's vote page reads the store
TALLY_POLL_S = 0.5  # how often the projector's tally reads it: one page, so a vote shows within half a second
WRONG_CODES = 5  # wrong codes a session may try per window...
WRONG_WINDOW_S = 60.0  # ...of this many seconds


class ClassroomError(Exception):
    """A refusal worth showing to the person who asked, in their words."""


class RoomNotFound(ClassroomError):
    def __init__(self) -> None:
        super().__init__("There is no live class with that code, or it has ended. Check the code on the screen.")


class NotHost(ClassroomError):
    def __init__(self) -> None:
        super().__init__("Only the teacher who started this class can run its rounds.")


class VotingClosed(ClassroomError):
    def __init__(self) -> None:
        super().__init__("Voting for this image has closed.")


class TooManyTries(ClassroomError):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"Too many wrong codes. Try again in {max(1, round(wait_s))} seconds.")


@dataclass(frozen=True)
class HostKey:
    """What the teacher's session holds: the room's code and the secret that runs it."""

    code: str
    token: str


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """'ab3-k9x ' -> 'AB3K9X'; None when it cannot be a code (wrong length or letters)."""
    code = "".join(text.split()).replace("-", "").upper()
    return code if len(code) == CODE_LENGTH and all(c in ALPHABET for c in code) else None


def token_hash(token: str) -> str:
    """Only the hash is stored: the database alone cannot run anyone's room."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class CodeLimiter:
    """Wrong codes tried by one session in the last `WRONG_WINDOW_S` seconds."""

    wrong: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """Seconds until this session may try another code (0: now)."""
        while self.wrong and self.wrong[0] <= now - WRONG_WINDOW_S:
            self.wrong.popleft()
        return self.wrong[0] + WRONG_WINDOW_S - now if len(self.wrong) >= WRONG_CODES else 0.0


class Classroom:
    """Live votes over a `ClassroomStore`; one per process, shared by every session."""

    def __init__(self, store: ClassroomStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    # -- the host ---------------------------------------------------------------------------------
    def start(self) -> HostKey:
        """A new room with a fresh code; expired rooms are cleaned up first."""
        now = self.clock()
        self.store.purge(now)
        token = secrets.token_urlsafe(24)
        while True:  # a taken code is vanishingly rare; draw again
            code = new_code()
            if self.store.add_room(code, token_hash(token), now, now + ROOM_HOURS * 3600):
                return HostKey(code, token)

    def _check(self, key: HostKey) -> None:
        room = self.store.room(key.code, self.clock())
        if room is None or room.ended:
            raise RoomNotFound
        if not hmac.compare_digest(room.token_hash, token_hash(key.token)):
            raise NotHost

    def open_round(self, key: HostKey, name: str, image: bytes) -> int:
        """Show `image` (JPEG) to the voters and take votes; returns the round's number."""
        self._check(key)
        now = self.clock()
        return self.store.add_round(key.code, name, image, now, now + ROOM_HOURS * 3600)

    def close_round(self, key: HostKey, number: int) -> None:
        self._check(key)
        self.store.close_round(key.code, number)

    def reveal(self, key: HostKey, number: int, truth: str | None, p_ai: float, verdict: str, heatmap: bytes) -> None:
        """Publish the right answer (if known), the model's verdict and its heatmap (PNG); closes voting first."""
        self._check(key)
        self.store.close_round(key.code, number)
        self.store.reveal_round(key.code, number, truth, p_ai, verdict, heatmap)

    def end(self, key: HostKey) -> None:
        self._check(key)
        self.store.end_room(key.code)

    def results(self, key: HostKey) -> list[RoundResult]:
        """Every revealed round, for the session summary (host only: it names the images)."""
        self._check(key)
        return self.store.results(key.code)

    # -- voters -----------------------------------------------------------------------------------
    def join(self, text: str, limiter: CodeLimiter) -> str:
        """The room's code for a typed `text`; wrong codes count against the session's limiter."""
        now = self.clock()
        if wait := limiter.wait(now):
            raise TooManyTries(wait)
        code = normalise_code(text)
        room = self.store.room(code, now) if code else None
        if room is None or room.ended:
            limiter.wrong.append(now)
            raise RoomNotFound
        return room.code

    def ended(self, code: str) -> bool:
        """True when the room has ended or expired (or never existed)."""
        room = self.store.room(code, self.clock())
        return room is None or room.ended

    def current(self, code: str) -> RoundInfo | None:
        return self.store.current_round(code)

    def vote(self, code: str, number: int, device: str, choice: str, reason: str | None = None) -> None:
        """Record (or change) this device's vote; only fixed choices and reasons are accepted."""
        if choice not in CLASS_NAMES or (reason is not None and reason not in REASONS):
            raise ValueError(f"not a vote: {choice!r}, {reason!r}")
        if not self.store.vote(code, number, device, choice, reason, self.clock()):
            raise VotingClosed

    def tally(self, code: str, number: int) -> Tally:
        return self.store.tally(code, number)

    def score(self, code: str, device: str) -> tuple[int, int]:
        """(right, counted) for one device over the revealed rounds whose answer is known."""
        return self.store.score(code, device)


def majority(tally: Tally) -> str | None:
    """The class's answer: the label with more votes; None for no votes or a tie."""
    if tally.ai == tally.human:
        return None
    return CLASS_NAMES[0] if tally.ai > tally.human else CLASS_NAMES[1]


SUMMARY_COLUMNS = (
    "image",
    "picture",
    "right answer",
    "votes",
    "votes for AI",
    "class right (%)",
    "model said",
    "model's AI score (%)",
    "model was",
)


def model_was(verdict: str, truth: str | None) -> str:
    """'right', 'wrong', 'not sure' (never a mistake), or '' when nobody knows the answer."""
    if verdict == UNSURE:
        return WORDS[UNSURE]
    return "" if truth is None else "right" if verdict == truth else "wrong"


def summary_rows(results: list[RoundResult]) -> list[dict[str, object]]:
    """Per image, in words a class reads: the votes, the class's % right, the model's verdict (its own,
    "not sure" included) and whether it was right. The screen and the CSV show the same rows."""
    rows = []
    for i, r in enumerate(results, 1):
        known = r.truth is not None
        class_right = round(100 * r.right_votes / r.votes) if known and r.votes else ""
        score = min(99, max(1, round(100 * r.p_ai)))  # a score, never a certainty: 1..99
        values = (i, r.name, WORDS[r.truth] if known else "", r.votes, r.ai_votes, class_right, WORDS[r.verdict], score)
        rows.append(dict(zip(SUMMARY_COLUMNS, (*values, model_was(r.verdict, r.truth)))))
    return rows


def summary_csv(results: list[RoundResult]) -> str:
    """`summary_rows` as CSV, for the teacher's records."""
    rows = summary_rows(results)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
