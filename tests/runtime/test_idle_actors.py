"""A node's actor lives while its node has work (issue 10: W3's per-run memory). A chain's
node done is an actor the run no longer needs: it goes, as a fan-out branch's does, and
a node reached again gets a new one. What an actor carries across activations (its
concurrency limit, a loop node's lingering workers) still holds, and so do retries,
timeouts and interrupts of the nodes whose actor goes."""

from __future__ import annotations

import gc
import itertools
from typing import Any

import anyio
import pytest

from runtime import END, Graph, RetryPolicy, Runtime, WorkflowState
from runtime.actor import NodeActor
from runtime.errors import NodeTimeoutError, RunFailed
from runtime.interrupts import ask
from runtime.status import RunStatus

RUNS = 100


def _chain(fns: dict[str, Any], **node_options: dict[str, Any]) -> Graph:
    g = Graph("idle_actors")
    for name, fn in fns.items():
        g.add_node(name, fn, **node_options.get(name, {}))
    for a, b in itertools.pairwise(fns):
        g.add_edge(a, b)
    g.add_edge(list(fns)[-1], END)
    return g


def _visit(name: str) -> Any:
    async def visit(state: WorkflowState) -> dict[str, Any]:
        await anyio.sleep(0)
        return {"visits": [*state.data.get("visits", []), name]}

    visit.__name__ = visit.__qualname__ = f"visit_{name}"
    return visit


def _alive_actors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is NodeActor)


async def test_a_chain_run_in_flight_keeps_only_its_current_node_s_actor() -> None:
    # Paused in the last of five nodes, a run kept an actor for each of the four done
    # (5 per run): ~160 bytes and a tracked object each, for every run in flight.
    pause, arrived = anyio.Event(), [0]

    async def last(state: WorkflowState) -> None:
        arrived[0] += 1
        await pause.wait()

    compiled = _chain({**{f"n{i}": _visit(f"n{i}") for i in range(4)}, "n4": last}).compile()
    async with Runtime() as rt:
        before = _alive_actors()
        handles = [await rt.start(compiled, {}) for _ in range(RUNS)]
        while arrived[0] < RUNS:
            await anyio.sleep(0.001)
        per_run = (_alive_actors() - before) / RUNS
        pause.set()
        finals = [await h.result() for h in handles]
    assert per_run <= 1.0, f"{per_run:.2f} node actors alive per run paused in its last node"
    assert {tuple(f.data["visits"]) for f in finals} == {("n0", "n1", "n2", "n3")}


async def test_a_chain_node_s_concurrency_limit_holds_across_runs_of_new_actors() -> None:
    # The limit is per run: each run's node gets a new actor, limited as the last one.
    inside, most = [0], [0]

    async def limited(state: WorkflowState) -> dict[str, int]:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        await anyio.sleep(0.001)
        inside[0] -= 1
        return {"n": state.data["n"] + 1}

    async def first(state: WorkflowState) -> dict[str, int]:
        return {"n": 1}

    compiled = _chain({"first": first, "limited": limited, "after": _visit("after")},
                      limited={"concurrency": 1}).compile()
    async with Runtime() as rt:
        handles = [await rt.start(compiled, {}) for _ in range(5)]
        finals = [await h.result() for h in handles]
    assert [f.data["n"] for f in finals] == [2] * 5
    assert [f.data["visits"] for f in finals] == [["after"]] * 5


async def test_a_chain_node_retries_and_times_out_with_a_new_actor_after_the_one_before() -> None:
    tries = [0]

    async def flaky(state: WorkflowState) -> dict[str, int]:
        tries[0] += 1
        if tries[0] < 3:
            raise ValueError("not yet")
        return {"tries": tries[0]}

    async def slow(state: WorkflowState) -> None:
        await anyio.sleep(5)

    ok = _chain({"a": _visit("a"), "flaky": flaky, "b": _visit("b")},
                flaky={"retry": RetryPolicy(max_attempts=3, initial_delay=0.0, jitter=False)})
    late = _chain({"a": _visit("a"), "b": _visit("b"), "slow": slow},
                  slow={"timeout": 0.05})
    async with Runtime() as rt:
        final = await (await rt.start(ok.compile(), {})).result()
        assert final.data == {"visits": ["a", "b"], "tries": 3}
        run = await rt.start(late.compile(), {})
        with pytest.raises(RunFailed) as caught:
            await run.result()
    assert isinstance(caught.value.__cause__, NodeTimeoutError) or "timed out" in str(caught.value)
    assert run.status is RunStatus.FAILED


async def test_a_chain_node_that_asks_is_answered_and_the_run_goes_on() -> None:
    async def asking(state: WorkflowState) -> dict[str, Any]:
        return {"answer": await ask("which?")}

    compiled = _chain({"a": _visit("a"), "asking": asking, "b": _visit("b")}).compile()
    async with Runtime() as rt:
        run = await rt.start(compiled, {})
        while run.status is not RunStatus.WAITING:
            await anyio.sleep(0.001)
        resumed = await rt.resume(run.id, "this one")
        final = await resumed.result()
    assert final.data == {"visits": ["a", "b"], "answer": "this one"}


async def test_a_node_on_a_loop_keeps_its_actor_and_runs_each_time() -> None:
    # (W1's shape: its nodes' actors linger, so a loop's turn makes no new one.)
    made: list[int] = []

    async def a(state: WorkflowState) -> dict[str, int]:
        made.append(_alive_actors())
        return {"i": state.data.get("i", 0) + 1}

    async def b(state: WorkflowState) -> None:
        return None

    g = Graph("idle_loop")
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge("a", "b")
    g.add_conditional_edge("b", "a", "i < 5")
    g.add_edge("b", END)
    async with Runtime() as rt:
        final = await (await rt.start(g.compile(), {})).result()
    assert final.data == {"i": 5}
    # (b's actor is made after a's first turn.)
    assert len(set(made[1:])) == 1, f"actors alive at each turn of the loop: {made}"
