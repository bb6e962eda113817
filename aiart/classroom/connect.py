"""Which store `AIART_CLASSROOM_DB` names: a SQLite file (the default) or a PostgreSQL URL."""

from __future__ import annotations

import os

from aiart.classroom.store import ClassroomStore
from aiart.config import cache_dir

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def configured() -> str:
    """`$AIART_CLASSROOM_DB` (a file path or a postgresql:// URL), else classroom.sqlite3 in the cache folder."""
    return os.environ.get("AIART_CLASSROOM_DB") or str(cache_dir() / "classroom.sqlite3")


def is_postgres(target: str) -> bool:
    return target.startswith(POSTGRES_SCHEMES)


def open_store(target: str | None = None) -> ClassroomStore:
    """The store `target` (default: `configured()`) names; psycopg is imported only for PostgreSQL."""
    target = target or configured()
    if is_postgres(target):
        from aiart.classroom.postgres_store import PostgresStore

        return PostgresStore(target)
    from aiart.classroom.sqlite_store import SQLiteStore

    return SQLiteStore(target)
