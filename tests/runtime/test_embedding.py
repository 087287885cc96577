"""What an application embedding the runtime meets on its first day: its own task group
cancelled around the runtime, readers of a run outliving the runtime, a LangGraph habit
or two (a TypedDict state, a sync node that asks), a node's own task group failing."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
import pytest
from storeopen import opened

from runtime import (
    END,
    Graph,
    GraphError,
    RetryPolicy,
    RunCancelled,
    RunFailed,
    RunStatus,
    Runtime,
    WorkflowState,
    ask,
)


def _stuck_graph(started: anyio.Event) -> Graph:
    async def stuck(state: WorkflowState) -> dict[str, Any]:
        started.set()
        await anyio.sleep_forever()
        return {"never": True}

    return Graph("stuck").add_node("stuck", stuck).add_edge("stuck", END)


def _stuck_after_a(name: str, gate: dict[str, bool]) -> Graph:
    """a -> step, where step waits forever while ``gate["stuck"]``."""
    async def step(state: WorkflowState) -> dict[str, Any]:
        if gate["stuck"]:
            await anyio.sleep_forever()
        return {"done": True}

    g = Graph(name).add_node("a", lambda s: {"a": 1}).add_node("step", step)
    return g.add_edge("a", "step").add_edge("step", END)


async def _cut_off_after_first_step(url: str, g: Graph) -> str:
    """Run ``g`` on ``url`` and cancel the runtime's surrounding task group once its
    first step is done (as an application that goes away does); the run's id."""
    with anyio.CancelScope() as outer:
        async with Runtime(url) as rt:
            run = await rt.start(g, {})
            while run.supervisor.steps < 1:
                await anyio.sleep(0.01)
            outer.cancel()
            await anyio.sleep_forever()
    return run.id


async def test_a_run_cut_off_by_a_cancelled_runtime_does_not_report_a_result() -> None:
    started = anyio.Event()
    with anyio.CancelScope() as outer:
        async with Runtime() as rt:
            run = await rt.start(_stuck_graph(started), {"x": 1})
            await started.wait()
            outer.cancel()            # the application's task group goes away
            await anyio.sleep_forever()
    assert run.done
    assert run.status is not RunStatus.RUNNING
    with pytest.raises(RunCancelled, match="cancelled"):
        await run.result()           # not the half-done state as if it had completed
    with anyio.fail_after(5):        # its readers end instead of waiting forever
        types = [e.type.value async for e in run.events()]
    assert types[0] == "run_started" and types[-1] == "run_released"


async def test_a_run_waiting_for_a_slot_when_its_runtime_is_cut_off_ends_too(
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'queued.db'}"
    started = anyio.Event()
    with anyio.CancelScope() as outer:
        async with Runtime(url, max_concurrent_runs=1) as rt:
            holder = await rt.start(_stuck_graph(started), {"x": 1})
            await started.wait()
            queued = await rt.start(_stuck_graph(anyio.Event()), {"x": 2})
            await anyio.wait_all_tasks_blocked()
            assert not queued.done        # in line behind the holder
            outer.cancel()
            await anyio.sleep_forever()
    assert holder.done and queued.done
    with anyio.fail_after(5), pytest.raises(RunCancelled, match="before it started"):
        await queued.result()
    async with Runtime(url, recover=False) as rt:
        record = await rt.store.get_run(queued.id)
    # Kept for the next runtime to start, as a shutdown leaves it.
    assert record is not None and record.status is RunStatus.PENDING and record.owner is None


async def test_a_run_cut_off_by_a_cancelled_runtime_resumes_from_a_durable_store(
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    gate = {"stuck": True}
    g = _stuck_after_a("cut", gate)
    run_id = await _cut_off_after_first_step(url, g)
    gate["stuck"] = False
    async with Runtime(url, graphs=[g]) as rt:
        view = await rt.wait(run_id, 10)
    assert view.status is RunStatus.COMPLETED
    assert view.data == {"a": 1, "done": True}


async def test_following_a_released_run_ends_when_the_runtime_closes() -> None:
    started = anyio.Event()
    async with Runtime() as rt:
        run = await rt.start(_stuck_graph(started), {})
        await started.wait()
        await rt.shutdown()
    with anyio.fail_after(5):
        types = [e.type.value async for e in rt.events(run.id)]
    assert types[-1] == "run_released"


async def test_following_a_waiting_run_ends_when_the_runtime_closes() -> None:
    async def asks(state: WorkflowState) -> dict[str, Any]:
        return {"answer": await ask("go on?")}

    g = Graph("asks").add_node("asks", asks).add_edge("asks", END)
    seen: list[str] = []
    with anyio.fail_after(10):            # the reader stops with the runtime
        async with anyio.create_task_group() as tg:
            async with Runtime() as rt:
                run = await rt.start(g, {})
                await rt.wait(run.id, 5)

                async def follow() -> None:
                    async for event in rt.events(run.id):
                        seen.append(event.type.value)

                tg.start_soon(follow)
                await anyio.sleep(0.05)
    assert seen == ["run_started", "node_started", "waiting"]


class TypedState(TypedDict):
    n: int


def test_a_typeddict_state_schema_is_refused_where_the_graph_is_made() -> None:
    with pytest.raises(GraphError, match=r"pydantic BaseModel.*TypedDict TypedState"):
        Graph("typed", state_schema=TypedState)  # type: ignore[arg-type]


async def test_ask_from_a_sync_node_fails_the_run_saying_to_make_it_async() -> None:
    def sync_asks(state: WorkflowState) -> dict[str, Any]:
        return {"answer": ask("go on?")}   # LangGraph's interrupt() habit: no await

    g = Graph("sync_asks").add_node("n", sync_asks).add_edge("n", END)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunFailed, match=r"ask\(\).*async def") as info:
            await run.result()
    assert info.value.node == "n"


def _fetching(fails: int) -> tuple[Graph, dict[str, int]]:
    """A node whose own task group raises ConnectionError in a child, ``fails`` times."""
    calls = {"n": 0}

    async def fetch(state: WorkflowState) -> dict[str, Any]:
        calls["n"] += 1

        async def one() -> None:
            if calls["n"] <= fails:
                raise ConnectionError("upstream went away")

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
        return {"attempts": calls["n"]}

    policy = RetryPolicy(max_attempts=3, initial_delay=0, jitter=False,
                         retry_on=(ConnectionError,))
    g = Graph("fetching").add_node("fetch", fetch, retry=policy).add_edge("fetch", END)
    return g, calls


async def test_a_retry_on_error_raised_in_the_node_s_own_task_group_is_retried() -> None:
    g, _ = _fetching(fails=2)
    async with Runtime() as rt:
        state = await (await rt.start(g, {})).result()
    assert state.data == {"attempts": 3}


async def test_a_node_s_exception_group_is_reported_by_its_errors_alike_on_both_backends(
) -> None:
    g, calls = _fetching(fails=5)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunFailed) as info:
            await run.result()
    assert calls["n"] == 3
    assert ("node 'fetch' failed on attempt 3: ExceptionGroup of 1 error: "
            "ConnectionError: upstream went away; the run stops") in str(info.value)


def test_retry_on_takes_a_group_only_when_each_of_its_errors_is_retried() -> None:
    policy = RetryPolicy(retry_on=(ConnectionError,))
    assert policy.should_retry(ExceptionGroup("g", [ConnectionError(), ConnectionResetError()]), 1)
    assert not policy.should_retry(ExceptionGroup("g", [ConnectionError(), KeyError()]), 1)
    assert not policy.should_retry(ExceptionGroup("g", [ConnectionError()]), 3)


async def test_a_runtime_that_cannot_rebuild_a_run_s_graph_leaves_the_run_to_one_that_can(
        tmp_path: Any) -> None:
    """kill -9 of the application, then a script that only opens the same store to look
    (its graph's functions live in the application, not in the script): the run must
    still be there for the application's restart, not failed for good."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    gate = {"stuck": True}
    g = _stuck_after_a("app", gate)
    run_id = await _cut_off_after_first_step(url, g)
    async with opened(url) as store:      # as kill -9 leaves it: running, owner gone
        await store.update_run(run_id, status=RunStatus.RUNNING, owner="gone-host:1:x")
    async with Runtime(url) as rt:         # the inspection script: knows no graph "app"
        looked = await rt.view(run_id)
    assert looked.status is not RunStatus.FAILED, looked
    gate["stuck"] = False
    async with Runtime(url, graphs=[g]) as rt:
        view = await rt.wait(run_id, 10)
        record = await rt.store.get_run(run_id)
    assert view.status is RunStatus.COMPLETED
    assert view.data == {"a": 1, "done": True}
    assert record is not None and record.interruptions == 1   # the crash, not the look
