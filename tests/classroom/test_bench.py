"""`python -m aiart bench --classroom N` measures the store as a class would use it."""

from __future__ import annotations

from aiart.bench.classroom import latency, throughput
from aiart.classroom.rooms import POLL_S, Classroom
from aiart.classroom.sqlite_store import SQLiteStore
from aiart.cli import build_parser


def test_the_bench_counts_every_vote_and_sees_it_within_a_poll(tmp_path):
    room = Classroom(SQLiteStore(tmp_path / "bench.sqlite3"))
    assert throughput(room, voters=4, per_voter=5) > 0
    delays = latency(room, voters=4, spread_s=0.5)
    assert len(delays) == 4 and all(-0.01 < d < POLL_S + 0.5 for d in delays)
    assert build_parser().parse_args(["bench", "--classroom", "30"]).classroom == 30
