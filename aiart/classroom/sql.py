"""The live vote's SQL, written once for both backends (SQLite and PostgreSQL).

Each backend only says how to connect, how to run one transaction, where the schema version is
kept, and how to spell the few things the two dialects write differently (`Dialect`): the
placeholder, the blob and float types, and the row lock a vote takes on its round. Everything
else (the schema, its migrations, every query) is here, so the two stores cannot drift apart.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

from aiart.classroom.store import AI, Room, RoundInfo, RoundResult, StoreError, Tally

# Schema versions, applied in order, once; each backend records how many have run.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE rooms (
            code TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            created {real} NOT NULL,
            expires {real} NOT NULL,
            ended INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE rounds (
            room TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'revealed')),
            image {blob} NOT NULL,
            opened {real} NOT NULL,
            truth TEXT,
            p_ai {real},
            verdict TEXT,
            heatmap {blob},
            PRIMARY KEY (room, number)
        )""",
        """CREATE TABLE votes (
            room TEXT NOT NULL,
            number INTEGER NOT NULL,
            device TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('AI_GENERATED', 'NON_AI_GENERATED')),
            reason TEXT,
            at {real} NOT NULL,
            PRIMARY KEY (room, number, device),
            FOREIGN KEY (room, number) REFERENCES rounds (room, number) ON DELETE CASCADE
        )""",
        "CREATE INDEX rooms_expires ON rooms (expires)",
    ),
)
CLOSE_OPEN_ROUND = "UPDATE rounds SET state = 'closed' WHERE room = ? AND state = 'open'"
CLOSE_ROUND = "UPDATE rounds SET state = 'closed' WHERE room = ? AND number = ? AND state = 'open'"
NEXT_ROUND = "SELECT COALESCE(MAX(number), 0) + 1 FROM rounds WHERE room = ?"


@dataclass(frozen=True)
class Dialect:
    """What differs between the backends' SQL; `{blob}`, `{real}` and `{share}` in a statement name these."""

    param: str  # the placeholder that replaces `?`
    blob: str
    real: str
    share: str  # appended to the vote's SELECT: a lock that makes a vote and a round's close take turns


@functools.cache
def render(template: str, dialect: Dialect) -> str:
    """A statement in `dialect`'s spelling (cached: each is rendered once per process)."""
    return template.format(blob=dialect.blob, real=dialect.real, share=dialect.share).replace("?", dialect.param)


class SQLStore(ABC):
    """`ClassroomStore` in SQL; a subclass supplies connections, transactions and the schema's version."""

    DIALECT: ClassVar[Dialect]

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A connection for one or more reads, each seeing only committed data."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[Any]:
        """A connection inside one write transaction: committed on success, rolled back on error."""

    @abstractmethod
    def _lock_schema(self, conn: Any) -> None:
        """Inside the migration's transaction: keep other processes out until it commits."""

    @abstractmethod
    def _schema_version(self, conn: Any) -> int: ...

    @abstractmethod
    def _set_schema_version(self, conn: Any, version: int) -> None: ...

    def _run(self, conn: Any, template: str, params: tuple = ()) -> Any:
        return conn.execute(render(template, self.DIALECT), params)

    def _read(self, template: str, params: tuple) -> list[tuple]:
        with self._reading() as conn:
            return self._run(conn, template, params).fetchall()

    def migrate(self) -> None:
        """Bring the schema to the newest version, once, even with several processes starting together."""
        with self._writing() as conn:
            self._lock_schema(conn)
            version = self._schema_version(conn)
            if version > len(MIGRATIONS):
                raise StoreError(f"the classroom store is schema version {version}; this aiart knows {len(MIGRATIONS)}")
            for number, statements in enumerate(MIGRATIONS[version:], version + 1):
                for sql in statements:
                    self._run(conn, sql)
                self._set_schema_version(conn, number)

    # -- rooms ------------------------------------------------------------------------------------
    def add_room(self, code: str, token_hash: str, now: float, expires: float) -> bool:
        """False when the code is taken (the caller draws another)."""
        with self._writing() as conn:
            cur = self._run(
                conn,
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
        with self._writing() as conn:
            self._run(conn, CLOSE_OPEN_ROUND, (code,))
            self._run(conn, "UPDATE rooms SET ended = 1 WHERE code = ?", (code,))

    def purge(self, now: float) -> int:
        """Delete expired rooms with their rounds and votes; returns how many rooms went."""
        with self._writing() as conn:
            return self._run(conn, "DELETE FROM rooms WHERE expires <= ?", (now,)).rowcount

    # -- rounds -----------------------------------------------------------------------------------
    def add_round(self, code: str, name: str, image: bytes, now: float, expires: float) -> int:
        """Open the next round (closing any still open) and keep the room alive until `expires`.

        The room's row is written first: on PostgreSQL that row lock makes two hosts' clicks on one
        room take turns, so each numbers its round after the other's (SQLite serialises all writers).
        """
        with self._writing() as conn:
            self._run(conn, "UPDATE rooms SET expires = ? WHERE code = ?", (expires, code))
            self._run(conn, CLOSE_OPEN_ROUND, (code,))
            (number,) = self._run(conn, NEXT_ROUND, (code,)).fetchone()
            self._run(
                conn,
                "INSERT INTO rounds (room, number, name, state, image, opened) VALUES (?, ?, ?, 'open', ?, ?)",
                (code, number, name, image, now),
            )
            return number

    def current_round(self, code: str) -> RoundInfo | None:
        rows = self._read(
            "SELECT number, state, image, opened, truth, p_ai, verdict, heatmap FROM rounds "
            "WHERE room = ? ORDER BY number DESC LIMIT 1",
            (code,),
        )
        return RoundInfo(*rows[0]) if rows else None

    def close_round(self, code: str, number: int) -> bool:
        with self._writing() as conn:
            return self._run(conn, CLOSE_ROUND, (code, number)).rowcount == 1

    def reveal_round(
        self, code: str, number: int, truth: str | None, p_ai: float, verdict: str, heatmap: bytes
    ) -> bool:
        """Only a closed round is revealed: the answer never reaches voters while they can still vote."""
        with self._writing() as conn:
            cur = self._run(
                conn,
                "UPDATE rounds SET state = 'revealed', truth = ?, p_ai = ?, verdict = ?, heatmap = ? "
                "WHERE room = ? AND number = ? AND state = 'closed'",
                (truth, p_ai, verdict, heatmap, code, number),
            )
            return cur.rowcount == 1

    # -- votes ------------------------------------------------------------------------------------
    def vote(self, code: str, number: int, device: str, choice: str, reason: str | None, now: float) -> bool:
        """One vote per device per round, changeable while the round is open; False if it is not open.

        One statement, so the check (open round of a live room) and the write are atomic; on
        PostgreSQL the `{share}` lock on the round also makes a close wait for votes in flight.
        """
        with self._writing() as conn:
            cur = self._run(
                conn,
                "INSERT INTO votes (room, number, device, choice, reason, at) "
                "SELECT r.room, r.number, ?, ?, ?, ? FROM rounds r JOIN rooms m ON m.code = r.room "
                "WHERE r.room = ? AND r.number = ? AND r.state = 'open' AND m.ended = 0 AND m.expires > ?{share} "
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
        right, counted = rows[0]
        return int(right), int(counted)

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
