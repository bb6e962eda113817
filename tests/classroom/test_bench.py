"""`bench --classroom N --processes P` measures the store as a class on several replicas would use it."""

from __future__ import annotations

from aiart.bench.classroom import run
from aiart.classroom.rooms import TALLY_POLL_S
from aiart.cli import build_parser


def test_the_bench_counts_every_vote_across_processes_and_sees_it_within_a_poll(store_target):
    report = run(store_target, voters=6, processes=2, spread_s=0.5)
    assert report.rate > 0 and (report.cast, report.counted, report.lost, report.refused) == (6, 6, 0, 0)
    assert len(report.delays) == 6 and all(-0.01 < d < TALLY_POLL_S + 0.5 for d in report.delays)
    assert report.store.startswith("PostgreSQL 1" if store_target.startswith("postgresql://") else "SQLite")
    args = build_parser().parse_args(["bench", "--classroom", "300", "--processes", "3"])
    assert (args.classroom, args.processes) == (300, 3)
