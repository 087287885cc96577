"""One source of run status: the enum, which statuses are final, which event ends a run."""

from __future__ import annotations

import hitlgraphs as hg
import pytest

from runtime import EventType, RunStatus, Runtime, RunWaiting
from runtime.events import OUTCOMES
from runtime.status import ACTIVE, FINISHED


async def test_stored_run_records_carry_a_run_status_on_every_store(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        done = await rt.start(hg.counter_graph(2).compile(), {})
        await done.result()
        waiting = await rt.start(hg.approval_graph().compile(), {})
        with pytest.raises(RunWaiting):
            await waiting.result()
        records = {r.id: r for r in await rt.store.list_runs()}
        one = await rt.store.get_run(done.id)
    assert one is not None and one.status is RunStatus.COMPLETED
    assert records[done.id].status is RunStatus.COMPLETED
    assert records[waiting.id].status is RunStatus.WAITING
    assert f"{one.status}" == "completed"   # formats as its value, as it is stored


def test_the_finished_and_active_statuses_split_every_status() -> None:
    assert FINISHED == {s for s in RunStatus if s.finished}
    assert ACTIVE | FINISHED == set(RunStatus) and not ACTIVE & FINISHED


def test_every_event_that_ends_a_run_names_the_status_it_leaves() -> None:
    assert {t for t in EventType if t.terminal} == set(OUTCOMES)
    assert {t.outcome for t in EventType if t.outcome is not None and t.outcome.finished} \
        == FINISHED
    assert EventType.RUN_RELEASED.outcome is RunStatus.PENDING
    assert EventType.NODE_COMPLETED.outcome is None
