"""`ClassroomStore` on one SQLite file in WAL mode: the default, for the app processes of one machine.

Each call opens its own short connection: Streamlit runs sessions in many threads, and SQLite
serialises the writers (`BEGIN IMMEDIATE` plus a busy timeout) so concurrent votes wait their
turn instead of failing. Every process that opens the file shares the class's state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from aiart.classroom.sql import Dialect, SQLStore

BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another's lock (a class of 30 needs milliseconds)


class SQLiteStore(SQLStore):
    """Safe from many threads and processes at once; `PRAGMA user_version` holds the schema version."""

    DIALECT = Dialect(param="?", blob="BLOB", real="REAL", share="")  # every writer already holds the lock

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block the writer
        self.migrate()
        # Held open and unused: closing the last connection to a WAL file checkpoints and fsyncs
        # (about 20 ms), which would make every short connection's close the slowest part of a vote.
        self._keeper = self._connect()

    def describe(self) -> str:
        return f"SQLite store in WAL mode ({self.path})"

    def close(self) -> None:
        self._keeper.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: a crashed process loses nothing committed
        return conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """Takes the write lock up front (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _lock_schema(self, conn: sqlite3.Connection) -> None:
        """`BEGIN IMMEDIATE` already holds the only write lock."""

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        return conn.execute("PRAGMA user_version").fetchone()[0]

    def _set_schema_version(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version)}")
