"""A cluster-wide limit per graph with two real ``actorflow worker`` processes on a real
PostgreSQL database: each worker could execute two runs at once, the graph's limit is
three, so only the cluster-wide count (not a per-process one) keeps it.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from runtime.status import RunStatus
from runtime.store.base import RunRecord
from test_cluster_processes import clustergraphs, front, wait_for, workers

pytestmark = pytest.mark.timeout(180)

LIMIT = 3


def most_at_once(records: list[RunRecord]) -> int:
    """The most runs executing at one moment (started_at .. completed_at overlaps).
    A run's lease is taken before it starts and given back after it completes, so
    these intervals lie inside the lease intervals the limit bounds."""
    marks: list[tuple[datetime, int]] = []
    for r in records:
        assert r.started_at is not None and r.completed_at is not None
        marks += [(r.started_at, 1), (r.completed_at, -1)]
    now = most = 0
    for _, delta in sorted(marks, key=lambda m: (m[0], m[1])):  # an end before a start
        now += delta
        most = max(most, now)
    return most


async def test_two_workers_together_keep_a_graphs_cluster_wide_limit(
        postgres_database: str) -> None:
    url = postgres_database
    args = ("--concurrency", "2", "--graph-limits", f"cluster_chain={LIMIT}",
            "--lease-seconds", "3", "--heartbeat-seconds", "0.5")
    async with front(url) as rt:
        # Queued before any worker runs: each worker's first claim finds all of them.
        views = [await rt.submit(clustergraphs.chain(), {"pause": 0.2}) for _ in range(9)]
        with workers() as start:
            a = start(url, *args)
            b = start(url, *args, backend="trio")
            try:
                finals = [await wait_for(rt, v.id, lambda r: r.status.finished, 120)
                          for v in views]
            except TimeoutError:
                raise AssertionError(f"A:\n{a.text}\nB:\n{b.text}") from None
            pids = {a.proc.pid, b.proc.pid}
    assert {r.status for r in finals} == {RunStatus.COMPLETED}  # over the limit: queued
    for r in finals:
        assert r.final_state is not None
        assert [t["node"] for t in r.final_state["data"]["trail"]] == [
            f"s{i}" for i in range(1, 6)]
        assert r.interruptions == 0
    executed_by = {r.final_state["data"]["trail"][-1]["pid"] for r in finals
                   if r.final_state is not None}
    assert executed_by == pids  # both workers took part (one alone runs at most two)
    assert most_at_once(finals) <= LIMIT
