"""Every store test runs on both backends: SQLite (a temp file) and PostgreSQL (a fresh database)."""

from __future__ import annotations

import pytest

from aiart.classroom.connect import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path) -> str:
    """What `AIART_CLASSROOM_DB` would hold: a file path, or a URL to an empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "classroom.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_target):
    opened = open_store(store_target)
    yield opened
    opened.close()
