"""Big graphs cost what their size says: a 10,000-branch fan-out compiles, runs and joins,
and compiling a big definition leaves the event loop free (issue 10, item 5)."""

from __future__ import annotations

from typing import Any

import anyio

from fangraphs import fan_graph

from runtime import Graph, Runtime, WorkflowState
from runtime.catalog import OFF_LOOP_SIZE, GraphCatalog
from runtime.store import MemoryStore

WIDTH = 10_000


async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    return {"vals": [config["i"]]}


async def join(state: WorkflowState) -> dict[str, Any]:
    return {"total": sum(state.data["vals"]), "count": len(state.data["vals"])}


def wide_graph(width: int) -> Graph:
    return fan_graph(width, branch, join, name="wide")


async def test_a_10000_branch_fan_out_compiles_runs_and_joins_once() -> None:
    compiled = wide_graph(WIDTH).compile()
    assert compiled.joins == {"start": "join"}
    async with Runtime() as rt:
        run = await rt.start(compiled, {})
        final = await run.result()
    assert final.data["count"] == WIDTH
    assert final.data["total"] == WIDTH * (WIDTH - 1) // 2
    # Merged in branch declaration order, whatever order the branches finished in.
    assert final.data["vals"] == list(range(WIDTH))


def wide_definition(width: int) -> dict[str, Any]:
    names = [f"b{i}" for i in range(width)]
    return {
        "name": "wide_json",
        "reducers": {"vals": "append"},
        "max_steps": width + 10,
        "nodes": [{"name": "start", "tool": "set", "config": {"values": {}}}]
        + [{"name": n, "tool": "set", "config": {"values": {"vals": [i]}}}
           for i, n in enumerate(names)]
        + [{"name": "join", "tool": "set", "config": {"values": {"done": True}}}],
        "edges": [{"source": "start", "target": n} for n in names]
        + [{"source": n, "target": "join"} for n in names]
        + [{"source": "join", "target": "END"}],
        "entry_point": "start",
    }


async def test_a_big_definition_compiles_while_the_event_loop_goes_on() -> None:
    definition = wide_definition(WIDTH)
    assert len(definition["nodes"]) > OFF_LOOP_SIZE
    catalog = GraphCatalog(MemoryStore(), None)
    ticks = 0
    ticking = anyio.Event()

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            ticking.set()
            await anyio.sleep(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        await ticking.wait()
        before = ticks
        compiled = await catalog.compile(definition, trusted=False)
        during = ticks - before
        tg.cancel_scope.cancel()
    assert compiled.joins == {"start": "join"}
    assert len(compiled.nodes) == WIDTH + 2
    # Compiled on the loop, nothing else could have run until compile returned.
    assert during > 0
