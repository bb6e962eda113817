"""The store contract behind the live class vote, on SQLite and PostgreSQL alike (`store` runs each test on both):
one vote per device, no lost votes, expiry, crashes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from aiart.bench.classroom import in_threads
from aiart.classroom.connect import open_store
from aiart.classroom.postgres_store import PostgresStore
from aiart.classroom.sql import MIGRATIONS
from aiart.classroom.sqlite_store import SQLiteStore
from aiart.classroom.store import ClassroomStore, StoreError
from aiart.config import PROJECT_ROOT

AI, HUMAN = "AI_GENERATED", "NON_AI_GENERATED"
NOW = 1_000_000.0
LATER = NOW + 3600


def open_room(store: ClassroomStore, code: str = "ROOM23") -> int:
    """A room with its first round open; returns the round's number."""
    assert store.add_room(code, "hash", NOW, LATER)
    return store.add_round(code, "a.png", b"jpeg", NOW, LATER)


def test_sqlite_schema_created_once_and_versioned(tmp_path):
    path = tmp_path / "db.sqlite3"
    first = SQLiteStore(path)
    open_room(first)
    SQLiteStore(path)  # a second process starting: no migration runs again, nothing is lost
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="schema version"):
        SQLiteStore(path)


def test_the_environment_picks_the_backend(tmp_path, monkeypatch, postgres_url):
    monkeypatch.setenv("AIART_CLASSROOM_DB", str(tmp_path / "moved" / "votes.db"))
    local = open_store()
    assert isinstance(local, SQLiteStore) and local.path == tmp_path / "moved" / "votes.db"
    assert (tmp_path / "moved" / "votes.db").is_file()
    monkeypatch.setenv("AIART_CLASSROOM_DB", postgres_url)
    hosted = open_store()
    assert isinstance(hosted, PostgresStore) and hosted.describe().startswith("PostgreSQL ")
    hosted.close()
    monkeypatch.delenv("AIART_CLASSROOM_DB")
    assert open_store().path.name == "classroom.sqlite3"  # the default: a file in the cache folder


def test_one_vote_per_device_changeable_until_closed(store):
    n = open_room(store)
    assert store.vote("ROOM23", n, "dev-a", AI, "hands", NOW)
    assert store.vote("ROOM23", n, "dev-b", AI, None, NOW)
    assert store.vote("ROOM23", n, "dev-a", HUMAN, "texture", NOW + 1)  # changed, not added
    tally = store.tally("ROOM23", n)
    assert (tally.ai, tally.human, tally.total, tally.reasons) == (1, 1, 2, {"texture": 1})

    assert store.close_round("ROOM23", n)
    assert not store.vote("ROOM23", n, "dev-c", AI, None, NOW + 2)
    assert not store.vote("ROOM23", n, "dev-a", AI, None, NOW + 2)
    assert store.tally("ROOM23", n).total == 2


def test_votes_only_for_the_open_round_of_a_live_room(store):
    first = open_room(store)
    second = store.add_round("ROOM23", "b.png", b"jpeg", NOW, LATER)  # closes the first
    assert second == first + 1 and store.current_round("ROOM23").number == second
    assert not store.vote("ROOM23", first, "dev", AI, None, NOW)
    assert not store.vote("NOROOM", second, "dev", AI, None, NOW)
    assert not store.vote("ROOM23", second + 1, "dev", AI, None, NOW)
    assert store.vote("ROOM23", second, "dev", AI, None, NOW)
    store.end_room("ROOM23")
    assert not store.vote("ROOM23", second, "dev", HUMAN, None, NOW)
    assert store.room("ROOM23", NOW).ended


def test_the_answer_is_stored_only_at_the_reveal_of_a_closed_round(store):
    n = open_room(store)
    assert not store.reveal_round("ROOM23", n, AI, 0.8, AI, b"png")  # still open: refused
    shown = store.current_round("ROOM23")
    assert (shown.state, shown.truth, shown.p_ai, shown.heatmap) == ("open", None, None, None)
    store.vote("ROOM23", n, "right", AI, None, NOW)
    store.vote("ROOM23", n, "wrong", HUMAN, None, NOW)
    store.close_round("ROOM23", n)
    assert store.reveal_round("ROOM23", n, AI, 0.8, HUMAN, b"png")
    shown = store.current_round("ROOM23")
    assert (shown.state, shown.truth, shown.verdict, shown.heatmap) == ("revealed", AI, HUMAN, b"png")
    assert store.score("ROOM23", "right") == (1, 1) and store.score("ROOM23", "wrong") == (0, 1)
    (result,) = store.results("ROOM23")
    assert (result.name, result.votes, result.ai_votes, result.right_votes) == ("a.png", 2, 1, 1)


def test_rooms_expire_and_are_purged_with_their_votes(store):
    n = open_room(store)
    store.vote("ROOM23", n, "dev", AI, None, NOW)
    assert store.room("ROOM23", LATER - 1) is not None
    assert store.room("ROOM23", LATER) is None
    assert not store.vote("ROOM23", n, "dev2", AI, None, LATER)
    assert store.add_room("FRESH2", "hash", LATER, LATER + 3600)
    assert store.purge(LATER) == 1
    assert store.current_round("ROOM23") is None and store.tally("ROOM23", n).total == 0
    assert store.room("FRESH2", LATER) is not None
    assert store._read("SELECT COUNT(*) FROM votes", ()) == [(0,)]


def test_a_taken_code_is_refused(store):
    assert store.add_room("SAME22", "one", NOW, LATER)
    assert not store.add_room("SAME22", "two", NOW, LATER)
    assert store.room("SAME22", NOW).token_hash == "one"


def test_concurrent_threads_lose_no_vote(store):
    n = open_room(store)
    threads, per_thread = 8, 40
    failures: list[str] = []

    def work(t: int) -> None:
        for i in range(per_thread):
            if not store.vote("ROOM23", n, f"t{t}-{i}", AI if i % 2 else HUMAN, None, NOW):
                failures.append(f"t{t}-{i}")

    in_threads(range(threads), work)
    tally = store.tally("ROOM23", n)
    assert not failures and (tally.ai, tally.human) == (threads * per_thread // 2, threads * per_thread // 2)


VOTER = """
import sys
from aiart.classroom.connect import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # both processes start voting at the same moment
for i in range(int(sys.argv[3])):
    assert store.vote("ROOM23", 1, f"{sys.argv[2]}-{i}", "AI_GENERATED", None, 1_000_000.0)
"""


def python(code: str, *args: object) -> subprocess.Popen:
    """`python -c code args` from the project root, talking through pipes."""
    cmd = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_two_processes_lose_no_vote(store, store_target):
    open_room(store)
    per_process = 300
    procs = [python(VOTER, store_target, name, per_process) for name in ("p1", "p2")]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    assert [p.wait(120) for p in procs] == [0, 0]
    assert store.tally("ROOM23", 1).ai == 2 * per_process


KILLED = """
import sys, time
from aiart.classroom.connect import open_store
store = open_store(sys.argv[1])
assert store.vote("ROOM23", 1, "committed", "AI_GENERATED", None, 1_000_000.0)
with store._writing() as conn:  # killed mid-vote: the row written, the transaction (and its locks) held
    store._run(conn, "INSERT INTO votes VALUES ('ROOM23', 1, 'lost', 'AI_GENERATED', NULL, 0)")
    print("holding", flush=True)
    time.sleep(600)
"""


def test_a_process_killed_mid_vote_loses_only_its_uncommitted_vote(store, store_target):
    """A replica killed mid-vote: its committed votes stay, its open transaction goes, nothing stays locked."""
    open_room(store)
    proc = python(KILLED, store_target)
    try:
        assert proc.stdout.readline().strip() == "holding"
    finally:
        proc.kill()
        proc.wait(30)
    reopened = open_store(store_target)
    assert reopened.vote("ROOM23", 1, "after", "NON_AI_GENERATED", None, NOW)
    tally = reopened.tally("ROOM23", 1)
    assert (tally.ai, tally.human) == (1, 1)  # the committed vote and the new one; the killed write is gone
    assert reopened.close_round("ROOM23", 1)  # no lock outlived the killed process
    reopened.close()


def test_closing_a_round_is_atomic_with_the_votes_in_flight(store):
    """Every vote the store accepted is counted, and none lands after the close returned."""
    n = open_room(store)
    accepted: list[str] = []
    closed = threading.Event()
    at_close: list[int] = []

    def work(i: int) -> None:
        if i == 0:  # the host closes while the others are voting
            while len(accepted) < 20:
                time.sleep(0.001)
            assert store.close_round("ROOM23", n)
            at_close.append(store.tally("ROOM23", n).total)  # what the projector shows as voting closes
            closed.set()
            return
        for j in range(1000):
            if store.vote("ROOM23", n, f"d{i}-{j}", AI, None, NOW):
                accepted.append(f"d{i}-{j}")
            elif closed.is_set():
                return

    in_threads(range(6), work)
    assert store.tally("ROOM23", n).total == len(accepted) == at_close[0] >= 20


def test_two_hosts_opening_rounds_at_once_number_them_apart(store):
    assert store.add_room("ROOM23", "hash", NOW, LATER)
    numbers: list[int] = []
    in_threads(range(6), lambda i: numbers.append(store.add_round("ROOM23", f"{i}.png", b"jpeg", NOW, LATER)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    assert store.current_round("ROOM23").number == 6
    states = store._read("SELECT state, COUNT(*) FROM rounds GROUP BY state ORDER BY state", ())
    assert states == [("closed", 5), ("open", 1)]
