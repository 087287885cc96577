"""A run's end is recorded in a memory store without a shielded scope
(runtime.store.memory.instant_updates): only where the update can never wait."""

from __future__ import annotations

from typing import Any

import anyio

from runtime import END, Graph, Runtime, WorkflowState
from runtime.status import RunStatus
from runtime.store import MemoryStore
from runtime.store.memory import instant_updates


class _SlowUpdates(MemoryStore):
    async def update_run(self, run_id: str, **fields: Any) -> None:
        await anyio.lowlevel.checkpoint()
        await super().update_run(run_id, **fields)


def test_only_a_memory_store_with_its_own_update_counts_as_instant() -> None:
    assert instant_updates(MemoryStore())
    assert not instant_updates(_SlowUpdates())
    assert not instant_updates(object())


async def test_a_run_cancelled_in_a_node_records_its_end_in_a_memory_store() -> None:
    entered = anyio.Event()

    async def stuck(state: WorkflowState) -> None:
        entered.set()
        await anyio.sleep_forever()

    g = Graph("instant_cancel")
    g.add_node("stuck", stuck)
    g.add_edge("stuck", END)
    store = MemoryStore()
    async with Runtime(store) as rt:
        run = await rt.start(g.compile(), {})
        await entered.wait()
        run.cancel()
        await run.wait()
        record = await store.get_run(run.id)
    assert record is not None
    assert record.status is RunStatus.CANCELLED
    assert record.completed_at is not None
