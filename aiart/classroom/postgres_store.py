"""`ClassroomStore` on PostgreSQL: one database shared by app replicas on any number of machines.

Chosen when `AIART_CLASSROOM_DB` is a `postgresql://` URL; the user, password, host and database
come from that URL or from libpq's usual `PG*` variables (`PGHOST`, `PGUSER`, `PGPASSWORD`,
`PGPASSFILE`, ...). Each process keeps a small pool of connections (`psycopg_pool`), checked
before each use, so a database restart costs the calls made while it is down and nothing after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from aiart.classroom.sql import Dialect, SQLStore
from aiart.classroom.store import StoreUnavailable

POOL_SIZE = 5  # connections per process (`AIART_CLASSROOM_POOL`); each call holds one for about a millisecond
POOL_WAIT_S = 5.0  # a call waits this long for a free connection, or for the server to come back
CONNECT_TIMEOUT_S = 5  # libpq's default is to wait for ever on a server that does not answer
SCHEMA_LOCK = 0x616961727431  # pg_advisory_xact_lock key: one process migrates at a time


def pool_size() -> int:
    return int(os.environ.get("AIART_CLASSROOM_POOL") or POOL_SIZE)


class PostgresStore(SQLStore):
    """The schema's version is a row in `classroom_schema`; migrations run under an advisory lock."""

    # FOR SHARE OF r: a vote holds its round's row until it commits, and closing a round (an
    # UPDATE of that row) waits for the votes in flight, then later votes see it closed.
    DIALECT = Dialect(param="%s", blob="BYTEA", real="DOUBLE PRECISION", share=" FOR SHARE OF r")

    def __init__(self, url: str, size: int | None = None, wait_s: float = POOL_WAIT_S) -> None:
        kwargs: dict[str, object] = {"autocommit": True}
        if "connect_timeout" not in conninfo_to_dict(url) and "PGCONNECT_TIMEOUT" not in os.environ:
            kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=size or pool_size(),
            kwargs=kwargs,
            timeout=wait_s,
            check=ConnectionPool.check_connection,
            name="aiart-classroom",
            open=False,
        )
        self.pool.open()
        try:
            self.migrate()
        except BaseException:
            self.pool.close()
            raise

    def describe(self) -> str:
        """The server's version and address, never its user or password."""
        with self._reading() as conn:
            info = conn.info
            version = (info.parameter_status("server_version") or "?").split()[0]
            return f"PostgreSQL {version} at {info.host}:{info.port}/{info.dbname}, pool of {self.pool.max_size}"

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit mode; any connection failure becomes `StoreUnavailable`."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:  # includes the pool's timeout
            raise StoreUnavailable from exc

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection]:
        with self._reading() as conn, conn.transaction():
            yield conn

    def _lock_schema(self, conn: psycopg.Connection) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    def _schema_version(self, conn: psycopg.Connection) -> int:
        conn.execute("CREATE TABLE IF NOT EXISTS classroom_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM classroom_schema").fetchone()
        return row[0] or 0

    def _set_schema_version(self, conn: psycopg.Connection, version: int) -> None:
        conn.execute("DELETE FROM classroom_schema")
        conn.execute("INSERT INTO classroom_schema (version) VALUES (%s)", (version,))
