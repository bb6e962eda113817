"""`python -m aiart bench --classroom N`: a class of N voting at once against the live-vote store.

Two measurements on a fresh store file: how many votes per second the store takes with N
threads voting (and changing their votes) as fast as they can; and the time from a vote being
cast to the projector's tally showing it, with every voter also polling the round once a second
as the vote page does, and the projector polling the tally at the page's rate (`POLL_S`).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from aiart.bench.sessions import memory
from aiart.classroom.rooms import POLL_S, REASONS, Classroom
from aiart.classroom.sqlite_store import SQLiteStore
from aiart.config import CLASS_NAMES

GOAL_LATENCY_S = 2.0
IMAGE = bytes(120_000)  # about a 768 px JPEG, so polling voters read a realistic row


def in_threads(n: int, work) -> None:
    """work(i) in n threads started together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def throughput(room: Classroom, voters: int, per_voter: int = 20) -> float:
    """Votes per second with every voter casting `per_voter` votes back to back."""
    key = room.start()
    number = room.open_round(key, "burst", IMAGE)
    start = time.perf_counter()
    in_threads(voters, lambda i: [room.vote(key.code, number, f"v{i}", CLASS_NAMES[j % 2]) for j in range(per_voter)])
    seconds = time.perf_counter() - start
    assert room.tally(key.code, number).total == voters
    return voters * per_voter / seconds


def latency(room: Classroom, voters: int, spread_s: float = 6.0) -> list[float]:
    """Seconds from each vote being cast to the first projector poll whose tally counts it."""
    key = room.start()
    number = room.open_round(key, "lesson", IMAGE)
    cast: list[float] = []  # when each vote was cast, in order of commit
    lock = threading.Lock()
    done = threading.Event()
    seen: list[float] = []  # seen[k]: when the projector first showed k + 1 votes

    def projector() -> None:
        while len(seen) < voters:
            total = room.tally(key.code, number).total
            seen.extend([time.perf_counter()] * (total - len(seen)))
            time.sleep(POLL_S)

    def voter(i: int) -> None:
        rng = random.Random(i)
        due = time.perf_counter() + rng.uniform(0, spread_s)
        while not done.is_set():  # the vote page polls the round while it waits
            room.current(key.code)
            if time.perf_counter() >= due:
                with lock:  # one at a time, so commit order is the order of `cast`
                    cast.append(time.perf_counter())
                    room.vote(key.code, number, f"v{i}", rng.choice(CLASS_NAMES), rng.choice(REASONS))
                return
            time.sleep(min(POLL_S, max(0.0, due - time.perf_counter())))

    watcher = threading.Thread(target=projector)
    watcher.start()
    in_threads(voters, voter)
    done.set()
    watcher.join()
    return [s - c for s, c in zip(seen, cast)]


def main(voters: int) -> int:
    before = memory()
    with tempfile.TemporaryDirectory(prefix="aiart-classroom-") as tmp:
        room = Classroom(SQLiteStore(Path(tmp) / "classroom.sqlite3"))
        rate = throughput(room, voters)
        delays = sorted(latency(room, voters))
    after = memory()
    p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))]
    print(f"\nlive class vote: {voters} simulated voters (threads), SQLite store in WAL mode")
    print(f"{'votes per second the store takes':44s} {rate:9.0f} /s  ({voters} voters, 20 votes each)")
    print(
        f"{'vote -> projector tally':44s} median {statistics.median(delays):.2f} s, p95 {p95:.2f} s, "
        f"max {delays[-1]:.2f} s  (tally polled every {POLL_S:.0f} s; goal < {GOAL_LATENCY_S:.0f} s)"
    )
    rss = f"{before['rss_gb']:.2f} / {after['rss_gb']:.2f} GB, peak {after['peak_gb']:.2f} GB"
    print(f"{'RSS before / after':44s} {rss}")
    return int(delays[-1] >= GOAL_LATENCY_S)
