"""What only the PostgreSQL store has: replicas migrating together, credentials, a pool, server restarts."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest

from aiart.bench.classroom import in_threads
from aiart.classroom.connect import open_store
from aiart.classroom.postgres_store import PostgresStore
from aiart.classroom.sql import MIGRATIONS
from aiart.classroom.store import StoreError, StoreUnavailable
from tests import pg
from tests.classroom.test_store import AI, HUMAN, LATER, NOW, open_room


def test_a_missing_postgresql_fails_with_a_clear_message(tmp_path):
    with pytest.raises(pytest.fail.Exception, match=r"PostgreSQL is not installed.*apt-get install postgresql"):
        pg.binaries(tmp_path)
    assert pg.binaries().name == "bin"  # and here it is installed (scripts/test.sh sees to it)


def test_replicas_starting_together_migrate_once(postgres_url):
    stores: list[PostgresStore] = []
    in_threads(range(4), lambda i: stores.append(PostgresStore(postgres_url)))
    open_room(stores[0])
    again = PostgresStore(postgres_url)  # a later start: no migration runs again, nothing is lost
    assert again.current_round("ROOM23").number == 1
    assert again._read("SELECT version FROM classroom_schema", ()) == [(len(MIGRATIONS),)]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE classroom_schema SET version = %s", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="schema version"):
        PostgresStore(postgres_url)
    for store in (*stores, again):
        store.close()


def test_credentials_come_from_pg_variables_and_never_leak(postgres, postgres_url, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    dbname = postgres_url.rsplit("/", 1)[1]
    for name, value in {"PGHOST": "127.0.0.1", "PGPORT": str(postgres.port), "PGUSER": pg.USER}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGPASSWORD", pg.PASSWORD)
    monkeypatch.setenv("PGDATABASE", dbname)
    store = open_store("postgresql://")
    assert isinstance(store, PostgresStore)
    described = store.describe()
    assert described.startswith("PostgreSQL 1") and f"/{dbname}" in described
    store.close()

    # A server that is not there: the error the page shows, its causes and the logs never hold the password.
    url = f"postgresql://{pg.USER}:{pg.PASSWORD}@127.0.0.1:{pg.free_port()}/{dbname}"
    with pytest.raises(StoreUnavailable) as failed:
        PostgresStore(url, wait_s=1.0)
    chain, exc = [], failed.value
    while exc is not None:
        chain.append(f"{exc!s} {exc!r}")
        exc = exc.__cause__ or exc.__context__
    text = " ".join([*chain, caplog.text, described])
    assert len(chain) >= 2 and "cannot be reached" in chain[0]
    assert pg.PASSWORD not in text and "s3cret" not in text


def test_a_full_pool_makes_votes_wait_and_loses_none(postgres_url):
    store = PostgresStore(postgres_url, size=2, wait_s=10.0)
    n = open_room(store)
    held = threading.Barrier(3)

    def hog() -> None:  # both connections taken for a second
        with store._reading():
            held.wait()
            time.sleep(1.0)

    hogs = [threading.Thread(target=hog) for _ in range(2)]
    for t in hogs:
        t.start()
    held.wait()
    start = time.perf_counter()
    results: list[bool] = []
    in_threads(range(20), lambda i: results.append(store.vote("ROOM23", n, f"d{i}", AI if i % 2 else HUMAN, None, NOW)))
    waited = time.perf_counter() - start
    for t in hogs:
        t.join()
    tally = store.tally("ROOM23", n)
    assert results == [True] * 20 and (tally.ai, tally.human) == (10, 10)
    assert waited > 0.5  # they queued for the pool instead of failing
    store.close()


def test_a_postgres_restart_pauses_votes_then_the_same_store_recovers(postgres, postgres_url):
    store = PostgresStore(postgres_url, wait_s=1.0)
    n = open_room(store)
    assert store.vote("ROOM23", n, "before", AI, None, NOW)
    postgres.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.vote("ROOM23", n, "during", AI, None, NOW)
        with pytest.raises(StoreUnavailable):
            store.tally("ROOM23", n)
    finally:
        postgres.start()
    deadline = time.monotonic() + 30
    while True:  # the pool reconnects in the background (first retry after about 1 s, then backing off)
        try:
            assert store.vote("ROOM23", n, "during", HUMAN, None, NOW)  # the student taps again: now it counts
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline, "the store did not recover within 30 s of the restart"
    assert store.vote("ROOM23", n, "after", HUMAN, None, NOW)
    tally = store.tally("ROOM23", n)
    assert (tally.ai, tally.human) == (1, 2) and store.room("ROOM23", LATER - 1) is not None
    store.close()
