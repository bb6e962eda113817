"""`python -m aiart bench --classroom N --processes P`: a class of N voting at once, as on P app replicas.

N simulated voters (threads) are spread over P processes, each with its own connection to the
configured store (`AIART_CLASSROOM_DB`: a SQLite file or a PostgreSQL URL; unset, a fresh
temporary SQLite file), as the sessions of P app replicas would be. Two measurements:

- **burst**: every voter casts 20 votes back to back (changing its mind each time), all processes
  starting at one instant; votes per second is all the votes over the time until the last one
  was stored. Afterwards each device must be counted once, at its last choice.
- **lesson**: each voter votes once at a random moment in a 6-second window, polling the round once a
  second while it waits, as the vote page does; the projector (this process) polls the tally at
  the page's rate (`TALLY_POLL_S`). A vote's latency runs from the moment it was cast to the first
  tally that counts it. One shared lock makes the votes commit in the order they were cast, so
  the k-th vote cast is the k-th vote a tally counts.

Votes lost are votes the store accepted that no tally counts. The processes are spawned, not
forked, so none inherits the parent's connections or threads.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiart.bench.sessions import memory
from aiart.classroom.connect import open_store
from aiart.classroom.rooms import POLL_S, REASONS, TALLY_POLL_S, Classroom, ClassroomError
from aiart.classroom.store import StoreError
from aiart.config import CLASS_NAMES

GOAL_P95_S = 1.0
PER_VOTER = 20  # votes each voter casts in the burst
SPREAD_S = 6.0  # the lesson's votes come within this window
IMAGE = bytes(120_000)  # about a 768 px JPEG, so polling voters read a realistic row


@dataclass(frozen=True)
class Job:
    """One phase for a worker process: which round to vote on, and when every process starts."""

    kind: str  # "burst" or "lesson"
    code: str
    number: int
    start_at: float  # time.time(): one clock for every process
    spread_s: float = SPREAD_S


@dataclass(frozen=True)
class Report:
    """What one run measured."""

    store: str
    rate: float
    burst_lost: int
    cast: int
    counted: int
    refused: int
    delays: list[float]

    @property
    def lost(self) -> int:
        return self.burst_lost + max(0, self.cast - self.counted)

    def p95(self) -> float:
        return self.delays[min(len(self.delays) - 1, int(0.95 * len(self.delays)))]


def in_threads(voters: range, work) -> None:
    """work(i) for each voter i, one thread each, all started before any runs."""
    barrier = threading.Barrier(len(voters))

    def run(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def last_choice(voter: int) -> str:
    return CLASS_NAMES[(voter + PER_VOTER - 1) % 2]


def burst(room: Classroom, job: Job, voters: range) -> tuple[float, int]:
    """Every voter casts `PER_VOTER` votes back to back; returns (when the last was stored, votes refused)."""
    refused: list[int] = []

    def work(i: int) -> None:
        sleep_until(job.start_at)
        for j in range(PER_VOTER):
            try:
                room.vote(job.code, job.number, f"v{i}", CLASS_NAMES[(i + j) % 2])
            except (ClassroomError, StoreError):
                refused.append(i)

    in_threads(voters, work)
    return time.time(), len(refused)


def lesson(room: Classroom, job: Job, voters: range, order) -> tuple[list[float], int]:
    """One vote per voter at a random moment; returns (when each accepted vote was cast, votes refused)."""
    cast: list[float] = []
    refused: list[int] = []

    def work(i: int) -> None:
        rng = random.Random(i)
        due = job.start_at + rng.uniform(0, job.spread_s)
        sleep_until(job.start_at)
        while time.time() < due:  # the vote page polls the round while its student thinks
            room.current(job.code)
            time.sleep(min(POLL_S, max(0.0, due - time.time())))
        with order:  # one vote at a time across processes: commit order is the order of casting
            at = time.time()
            try:
                room.vote(job.code, job.number, f"v{i}", rng.choice(CLASS_NAMES), rng.choice(REASONS))
                cast.append(at)
            except (ClassroomError, StoreError):
                refused.append(i)

    in_threads(voters, work)
    return cast, len(refused)


def worker(target: str, voters: range, jobs, results, order) -> None:
    """One process: its own store connection, then each job it is sent, until None."""
    store = open_store(target)
    room = Classroom(store)
    results.put("ready")
    for job in iter(jobs.get, None):
        results.put(burst(room, job, voters) if job.kind == "burst" else lesson(room, job, voters, order))
    store.close()


def watch_tally(room: Classroom, code: str, number: int, expected: int, until: float) -> list[float]:
    """The projector: seen[k] is when a tally first counted k + 1 votes."""
    seen: list[float] = []
    while len(seen) < expected and time.time() < until:
        total = room.tally(code, number).total
        seen.extend([time.time()] * (total - len(seen)))
        time.sleep(TALLY_POLL_S)
    return seen


def run(target: str, voters: int, processes: int, spread_s: float = SPREAD_S) -> Report:
    """Both phases with `voters` spread over `processes` spawned processes."""
    ctx = multiprocessing.get_context("spawn")
    order, results = ctx.Lock(), ctx.Queue()
    shares = [range(voters)[p::processes] for p in range(processes)]
    inboxes = [ctx.Queue() for _ in shares]
    procs = [ctx.Process(target=worker, args=(target, s, q, results, order)) for s, q in zip(shares, inboxes)]
    for p in procs:
        p.start()
    store = open_store(target)
    try:
        assert [results.get(timeout=600) for _ in procs] == ["ready"] * processes
        room = Classroom(store)

        key = room.start()
        job = Job("burst", key.code, room.open_round(key, "burst", IMAGE), time.time() + 0.5)
        for q in inboxes:
            q.put(job)
        ends, refusals = zip(*(results.get() for _ in procs))
        rate = voters * PER_VOTER / (max(ends) - job.start_at)
        tally = room.tally(job.code, job.number)
        expected_ai = sum(last_choice(i) == CLASS_NAMES[0] for i in range(voters))
        burst_lost = max(0, expected_ai - tally.ai) + max(0, voters - expected_ai - tally.human)
        room.end(key)

        key = room.start()
        job = Job("lesson", key.code, room.open_round(key, "lesson", IMAGE), time.time() + 0.5, spread_s)
        for q in inboxes:
            q.put(job)
        seen = watch_tally(room, job.code, job.number, voters, job.start_at + spread_s + 30)
        casts, refused = zip(*(results.get() for _ in procs))
        cast = sorted(t for part in casts for t in part)
        counted = room.tally(job.code, job.number).total
        room.end(key)
        description = store.describe()
    finally:
        for q in inboxes:
            q.put(None)
        for p in procs:
            p.join(60)
        store.close()
    delays = sorted(s - c for s, c in zip(seen, cast))
    return Report(description, rate, burst_lost, len(cast), counted, sum(refusals) + sum(refused), delays)


def main(voters: int, processes: int = 1) -> int:
    before = memory()
    with tempfile.TemporaryDirectory(prefix="aiart-classroom-") as tmp:
        target = os.environ.get("AIART_CLASSROOM_DB") or str(Path(tmp) / "classroom.sqlite3")
        report = run(target, voters, processes)
    after = memory()
    d = report.delays
    spread = f"{processes} processes" if processes > 1 else "1 process"
    print(f"\nlive class vote: {voters} simulated voters in {spread}, {report.store}")
    print(f"{'votes per second the store takes':44s} {report.rate:9.0f} /s  ({voters} voters, {PER_VOTER} votes each)")
    print(
        f"{'votes cast / counted':44s} {report.cast:5d} / {report.counted}   votes lost  {report.lost}"
        f"  (refused {report.refused}; burst: every device counted once at its last choice"
        f"{'' if not report.burst_lost else f', {report.burst_lost} missing'})"
    )
    print(
        f"{'vote -> projector tally':44s} median {statistics.median(d):.2f} s, p95 {report.p95():.2f} s, "
        f"max {d[-1]:.2f} s  (tally polled every {TALLY_POLL_S:g} s; goal p95 < {GOAL_P95_S:g} s)"
    )
    rss = f"{before['rss_gb']:.2f} / {after['rss_gb']:.2f} GB, peak {after['peak_gb']:.2f} GB"
    print(f"{'RSS of this process before / after':44s} {rss}")
    return int(report.lost > 0 or report.refused > 0 or report.p95() >= GOAL_P95_S)
