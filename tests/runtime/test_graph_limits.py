"""The cluster-wide limit of runs per graph, kept at claim time in the database (a real
SQLite file and a real PostgreSQL database): claimers in several processes together
never hold more leases on a limited graph's runs than its limit, the runs over it stay
queued, other graphs are not held back, and a freed or expired slot is claimable again.

(Real worker processes under a limit: test_cluster_processes_limits.py.)
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime.lease import ClusterSettings
from runtime.status import RunStatus
from runtime.store.base import RunRecord
from runtime.store.sql import SQLStore

LIMITS = {"limited": 2}


def queued(run_id: str, graph: str) -> RunRecord:
    return RunRecord(id=run_id, graph_name=graph, status=RunStatus.PENDING)


async def _fill(store: SQLStore) -> None:
    for i in range(8):
        await store.create_run(queued(f"l{i}", "limited"))
    for i in range(4):
        await store.create_run(queued(f"f{i}", "free"))
    await store.flush()


async def test_claimers_together_never_exceed_a_graphs_limit(durable_url: str) -> None:
    stores = [SQLStore(durable_url) for _ in range(4)]
    async with stores[0], stores[1], stores[2], stores[3]:
        await _fill(stores[0])
        got: dict[str, list[RunRecord]] = {}

        async def claim(store: SQLStore, name: str) -> None:
            got[name] = await store.claim_runs(name, 100, 30.0, LIMITS)

        async with anyio.create_task_group() as tg:  # four claimers at once
            for n, store in enumerate(stores):
                tg.start_soon(claim, store, f"c{n}")
        taken = [r for records in got.values() for r in records]
        limited = sorted(r.id for r in taken if r.graph_name == "limited")
        assert len(limited) == 2 and len(set(limited)) == 2
        assert limited == ["l0", "l1"]  # the oldest ones
        assert sorted(r.id for r in taken if r.graph_name == "free") == [
            "f0", "f1", "f2", "f3"]  # an unlimited graph is not held back
        # The rest stay queued (not failed), and no later claim takes them while full.
        assert await stores[0].claim_runs("late", 100, 30.0, LIMITS) == []
        rest = [await stores[0].get_run(f"l{i}") for i in range(2, 8)]
        assert all(r is not None and r.status is RunStatus.PENDING and r.owner is None
                   for r in rest)


async def test_a_freed_or_expired_slot_is_claimable_again(durable_url: str) -> None:
    async with SQLStore(durable_url) as a, SQLStore(durable_url) as b:
        await _fill(a)
        first = [r.id for r in await a.claim_runs("a", 100, 30.0, LIMITS)
                 if r.graph_name == "limited"]
        assert first == ["l0", "l1"]
        await a.update_run("l0", status=RunStatus.RUNNING)
        await a.update_run("l0", status=RunStatus.COMPLETED)  # finished: its slot is free
        await a.release_lease("l0")
        assert [r.id for r in await b.claim_runs("b", 100, 0.01, LIMITS)] == ["l2"]
        await anyio.sleep(0.05)  # b's lease on l2 lapses: that slot is free again
        taken = [r.id for r in await b.claim_runs("b", 100, 30.0, LIMITS)]
        assert taken == ["l2"]  # the oldest claimable: the expired one, taken over
        assert await a.claim_runs("a", 100, 30.0, LIMITS) == []


async def test_without_limits_a_claim_takes_every_graph(durable_url: str) -> None:
    async with SQLStore(durable_url) as store:
        await _fill(store)
        assert len(await store.claim_runs("a", 100, 30.0)) == 12


@pytest.mark.parametrize("limits", [{"g": 0}, {"g": -1}])
def test_a_limit_below_one_is_refused_naming_the_graph(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="limit of graph 'g' must be at least 1"):
        ClusterSettings(graph_limits=limits)
