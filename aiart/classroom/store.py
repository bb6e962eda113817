"""What the live vote needs from a database: the `ClassroomStore` contract and its records.

The class's state (rooms, rounds, votes) lives only in the store, never in a server process, so
every app process and every replica that opens the same store sees the same rounds and tally,
and a restart loses nothing. Two backends implement `ClassroomStore` with one set of SQL
(`sql.py`): `SQLiteStore`, one file for the app processes of one machine (the default, needing
nothing), and `PostgresStore`, one server for replicas on many machines; `connect.open_store`
picks the one `AIART_CLASSROOM_DB` names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aiart.config import CLASS_NAMES

AI = CLASS_NAMES[0]


class StoreError(RuntimeError):
    """The store cannot be used (for example, written by a newer aiart)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (a server restarting, a network cut, a full pool).

    A vote that raised this may not have been recorded; casting it again is safe (a device's vote
    replaces its last one). The same store works again once the database is back, without a
    restart of the app. The message never names the server, let alone its credentials.
    """

    def __init__(self) -> None:
        super().__init__("The class's database cannot be reached right now.")


@dataclass(frozen=True)
class Room:
    code: str
    token_hash: str
    created: float
    expires: float
    ended: bool


@dataclass(frozen=True)
class RoundInfo:
    """One round as voters may see it: the reveal fields stay None until the host reveals."""

    number: int
    state: str  # open -> closed -> revealed
    image: bytes  # JPEG
    opened: float
    truth: str | None = None
    p_ai: float | None = None
    verdict: str | None = None
    heatmap: bytes | None = None  # PNG overlay


@dataclass(frozen=True)
class Tally:
    ai: int = 0
    human: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.ai + self.human


@dataclass(frozen=True)
class RoundResult:
    """One revealed round in the session summary."""

    number: int
    name: str
    truth: str | None
    p_ai: float
    verdict: str
    votes: int
    ai_votes: int
    right_votes: int  # votes equal to the truth (0 when it is unknown)


class ClassroomStore(Protocol):
    """What the live vote needs from a database; `open_store` picks SQLite or PostgreSQL."""

    def describe(self) -> str: ...
    def close(self) -> None: ...
    def add_room(self, code: str, token_hash: str, now: float, expires: float) -> bool: ...
    def room(self, code: str, now: float) -> Room | None: ...
    def end_room(self, code: str) -> None: ...
    def purge(self, now: float) -> int: ...
    def add_round(self, code: str, name: str, image: bytes, now: float, expires: float) -> int: ...
    def current_round(self, code: str) -> RoundInfo | None: ...
    def close_round(self, code: str, number: int) -> bool: ...
    def reveal_round(
        self, code: str, number: int, truth: str | None, p_ai: float, verdict: str, heatmap: bytes
    ) -> bool: ...
    def vote(self, code: str, number: int, device: str, choice: str, reason: str | None, now: float) -> bool: ...
    def tally(self, code: str, number: int) -> Tally: ...
    def score(self, code: str, device: str) -> tuple[int, int]: ...
    def results(self, code: str) -> list[RoundResult]: ...
