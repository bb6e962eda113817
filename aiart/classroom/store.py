"""Where rooms, rounds and votes live: SQLite in WAL mode, behind a small interface.

Every app process (and every restart) opens the same file, so a vote cast through one server
process is in the tally that another draws. Each call opens its own short connection: Streamlit
runs sessions in many threads, and SQLite serialises the writers (`BEGIN IMMEDIATE` plus a busy
timeout) so concurrent votes wait their turn instead of failing. The SQL is kept to what
PostgreSQL also accepts (upserts, CASE sums) so a hosted store can implement the same interface.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiart.config import CLASS_NAMES, cache_dir

AI = CLASS_NAMES[0]
BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another's lock (a class of 30 needs milliseconds)

# Schema versions, applied in order; PRAGMA user_version records how many have run on a file.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE rooms (
            code TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            created REAL NOT NULL,
            expires REAL NOT NULL,
            ended INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE rounds (
            room TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'revealed')),
            image BLOB NOT NULL,
            opened REAL NOT NULL,
            truth TEXT,
            p_ai REAL,
            verdict TEXT,
            heatmap BLOB,
            PRIMARY KEY (room, number)
        )""",
        """CREATE TABLE votes (
            room TEXT NOT NULL,
            number INTEGER NOT NULL,
            device TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('AI_GENERATED', 'NON_AI_GENERATED')),
            reason TEXT,
            at REAL NOT NULL,
            PRIMARY KEY (room, number, device),
            FOREIGN KEY (room, number) REFERENCES rounds (room, number) ON DELETE CASCADE
        )""",
        "CREATE INDEX rooms_expires ON rooms (expires)",
    ),
)
CLOSE_OPEN_ROUND = "UPDATE rounds SET state = 'closed' WHERE room = ? AND state = 'open'"
NEXT_ROUND = "SELECT COALESCE(MAX(number), 0) + 1 FROM rounds WHERE room = ?"


class StoreError(RuntimeError):
    """The store file cannot be used (for example, written by a newer aiart)."""


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
    """What the live vote needs from a database; `SQLiteStore` is the embedded one."""

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


def default_path() -> Path:
    """`$AIART_CLASSROOM_DB`, else classroom.sqlite3 in the cache folder."""
    env = os.environ.get("AIART_CLASSROOM_DB")
    return Path(env).expanduser() if env else cache_dir() / "classroom.sqlite3"


class SQLiteStore:
    """`ClassroomStore` on one SQLite file; safe from many threads and processes at once."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block the writer
            migrate(conn)
        # Held open and unused: closing the last connection to a WAL file checkpoints and fsyncs
        # (about 20 ms), which would make every short connection's close the slowest part of a vote.
        self._keeper = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a crashed process loses nothing committed
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn, transaction(conn):
            yield conn

    def _read(self, sql: str, params: tuple) -> list[tuple]:
        with closing(self._connect()) as conn:
            return conn.execute(sql, params).fetchall()

    # -- rooms ------------------------------------------------------------------------------------
    def add_room(self, code: str, token_hash: str, now: float, expires: float) -> bool:
        """False when the code is taken (the caller draws another)."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO rooms (code, token_hash, created, expires) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (code, token_hash, now, expires),
            )
            return cur.rowcount == 1

    def room(self, code: str, now: float) -> Room | None:
        """The room, or None when there is none by that code or it has expired."""
        rows = self._read(
            "SELECT code, token_hash, created, expires, ended FROM rooms WHERE code = ? AND expires > ?", (code, now)
        )
        return Room(*rows[0][:4], bool(rows[0][4])) if rows else None

    def end_room(self, code: str) -> None:
        with self._write() as conn:
            conn.execute(CLOSE_OPEN_ROUND, (code,))
            conn.execute("UPDATE rooms SET ended = 1 WHERE code = ?", (code,))

    def purge(self, now: float) -> int:
        """Delete expired rooms with their rounds and votes; returns how many rooms went."""
        with self._write() as conn:
            return conn.execute("DELETE FROM rooms WHERE expires <= ?", (now,)).rowcount

    # -- rounds -----------------------------------------------------------------------------------
    def add_round(self, code: str, name: str, image: bytes, now: float, expires: float) -> int:
        """Open the next round (closing any still open) and keep the room alive until `expires`."""
        with self._write() as conn:
            conn.execute(CLOSE_OPEN_ROUND, (code,))
            (number,) = conn.execute(NEXT_ROUND, (code,)).fetchone()
            conn.execute(
                "INSERT INTO rounds (room, number, name, state, image, opened) VALUES (?, ?, ?, 'open', ?, ?)",
                (code, number, name, image, now),
            )
            conn.execute("UPDATE rooms SET expires = ? WHERE code = ?", (expires, code))
            return number

    def current_round(self, code: str) -> RoundInfo | None:
        rows = self._read(
            "SELECT number, state, image, opened, truth, p_ai, verdict, heatmap FROM rounds "
            "WHERE room = ? ORDER BY number DESC LIMIT 1",
            (code,),
        )
        return RoundInfo(*rows[0]) if rows else None

    def close_round(self, code: str, number: int) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE rounds SET state = 'closed' WHERE room = ? AND number = ? AND state = 'open'", (code, number)
            )
            return cur.rowcount == 1

    def reveal_round(
        self, code: str, number: int, truth: str | None, p_ai: float, verdict: str, heatmap: bytes
    ) -> bool:
        """Only a closed round is revealed: the answer never reaches voters while they can still vote."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE rounds SET state = 'revealed', truth = ?, p_ai = ?, verdict = ?, heatmap = ? "
                "WHERE room = ? AND number = ? AND state = 'closed'",
                (truth, p_ai, verdict, heatmap, code, number),
            )
            return cur.rowcount == 1

    # -- votes ------------------------------------------------------------------------------------
    def vote(self, code: str, number: int, device: str, choice: str, reason: str | None, now: float) -> bool:
        """One vote per device per round, changeable while the round is open; False if it is not open.

        One statement, so the check (open round of a live room) and the write are atomic.
        """
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO votes (room, number, device, choice, reason, at) "
                "SELECT r.room, r.number, ?, ?, ?, ? FROM rounds r JOIN rooms m ON m.code = r.room "
                "WHERE r.room = ? AND r.number = ? AND r.state = 'open' AND m.ended = 0 AND m.expires > ? "
                "ON CONFLICT (room, number, device) DO UPDATE "
                "SET choice = excluded.choice, reason = excluded.reason, at = excluded.at",
                (device, choice, reason, now, code, number, now),
            )
            return cur.rowcount == 1

    def tally(self, code: str, number: int) -> Tally:
        ai = human = 0
        reasons: dict[str, int] = {}
        rows = self._read(
            "SELECT choice, reason, COUNT(*) FROM votes WHERE room = ? AND number = ? GROUP BY choice, reason",
            (code, number),
        )
        for choice, reason, n in rows:
            if choice == AI:
                ai += n
            else:
                human += n
            if reason:
                reasons[reason] = reasons.get(reason, 0) + n
        return Tally(ai, human, reasons)

    def score(self, code: str, device: str) -> tuple[int, int]:
        """(right, counted): this device's votes on revealed rounds whose right answer is known."""
        rows = self._read(
            "SELECT COALESCE(SUM(CASE WHEN v.choice = r.truth THEN 1 ELSE 0 END), 0), COUNT(*) "
            "FROM votes v JOIN rounds r ON r.room = v.room AND r.number = v.number "
            "WHERE v.room = ? AND v.device = ? AND r.state = 'revealed' AND r.truth IS NOT NULL",
            (code, device),
        )
        return rows[0]

    def results(self, code: str) -> list[RoundResult]:
        rows = self._read(
            "SELECT r.number, r.name, r.truth, r.p_ai, r.verdict, COUNT(v.device), "
            f"COALESCE(SUM(CASE WHEN v.choice = '{AI}' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN v.choice = r.truth THEN 1 ELSE 0 END), 0) "
            "FROM rounds r LEFT JOIN votes v ON v.room = r.room AND v.number = r.number "
            "WHERE r.room = ? AND r.state = 'revealed' "
            "GROUP BY r.number, r.name, r.truth, r.p_ai, r.verdict ORDER BY r.number",
            (code,),
        )
        return [RoundResult(*row) for row in rows]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction that takes the write lock up front, so two writers never deadlock upgrading."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the file's schema to the newest version, once, even with several processes starting together."""
    with transaction(conn):
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StoreError(f"the classroom store is schema version {version}; this aiart knows {len(MIGRATIONS)}")
        for number, statements in enumerate(MIGRATIONS[version:], version + 1):
            for sql in statements:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {number}")
