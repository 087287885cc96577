"""The graphs of the format-1 checkpoint fixture (``fixtures/format1.sqlite``).

``fixtures/make_format1.py`` ran them with the code of main at commit 6c3d033 (checkpoint
format 1, before the position model was typed and versioned) and kept the SQLite file
it left. ``test_format1.py`` opens that file with today's code. Module level, so both
processes resolve the nodes by the same "format1graphs:NAME" references that the
stored runs carry in their ``graph_def``.

With ``FORMAT1_CRASH=1`` in the environment (only while generating), the nodes named
``hold*`` and the map's third item block forever, so that the generating process can be
killed in the middle of those runs; without it they return at once.
"""

from __future__ import annotations

import os
from typing import Any

import anyio

from runtime import END, Graph, WorkflowState, ask

#: Set by the generator's crashing process: "running" nodes then block until killed.
CRASH = "FORMAT1_CRASH"
#: Entered by every node that blocks, so the generator knows when to kill itself.
BLOCKED: list[str] = []


async def _block(name: str) -> None:
    if os.environ.get(CRASH) == "1":
        BLOCKED.append(name)
        await anyio.sleep_forever()


# -- nodes ---------------------------------------------------------------------------
async def begin(state: WorkflowState) -> dict[str, Any]:
    return {"parts": []}


async def left(state: WorkflowState) -> dict[str, Any]:
    return {"parts": ["left"]}


async def right(state: WorkflowState) -> dict[str, Any]:
    return {"parts": ["right"]}


async def join(state: WorkflowState) -> dict[str, Any]:
    return {"rounds": state.data.get("rounds", 0) + 1,
            "seen": sorted(state.data["parts"])}


async def step(state: WorkflowState) -> dict[str, Any]:
    n = state.data.get("n", 0)
    if n == 3:
        await _block("step")
    return {"n": n + 1}


async def ask_a(state: WorkflowState) -> dict[str, Any]:
    return {"a": await ask({"branch": "a"})}


async def ask_b(state: WorkflowState) -> dict[str, Any]:
    return {"b": await ask({"branch": "b"})}


async def plain(state: WorkflowState) -> dict[str, Any]:
    return {"plain": True}


async def gather(state: WorkflowState) -> dict[str, Any]:
    return {"joined": sorted(k for k in ("a", "b", "plain") if k in state.data)}


async def draft(state: WorkflowState) -> dict[str, Any]:
    return {"draft": "v1"}


async def publish(state: WorkflowState) -> dict[str, Any]:
    return {"published": state.data.get("draft")}


async def split(state: WorkflowState) -> dict[str, Any]:
    return {"items": [1, 2, 3, 4], "out": []}


async def work(state: WorkflowState, ctx: Any) -> dict[str, Any]:
    if ctx.index == 2:
        await _block("work[2]")
    return {"out": [state.data["item"] * 10]}


async def review(state: WorkflowState, ctx: Any) -> dict[str, Any]:
    if ctx.index == 1:
        return {"out": [await ask({"item": state.data["item"]})]}
    return {"out": [state.data["item"]]}


async def hold(state: WorkflowState) -> dict[str, Any]:
    await _block("hold")
    return {"held": True}


async def hold_entry(state: WorkflowState) -> dict[str, Any]:
    await _block("hold_entry")
    return {"entered": True}


async def total(state: WorkflowState) -> dict[str, Any]:
    return {"total": sum(state.data["out"]), "held": state.data.get("held", False)}


# -- graphs ----------------------------------------------------------------------------
def fanout_loop() -> Graph:
    """begin -> (left | right) -> join, twice round the loop: finished runs to fork."""
    g = Graph("f1_fanout_loop", reducers={"parts": "append"})
    g.add_node("begin", begin)
    g.add_node("left", left)
    g.add_node("right", right)
    g.add_node("join", join)
    g.add_edge("begin", ["left", "right"])
    g.add_edge(["left", "right"], "join")
    g.add_conditional_edge("join", "begin", "rounds < 2")
    g.add_edge("join", END)
    return g


def counter(limit: int = 6) -> Graph:
    g = Graph("f1_counter")
    g.add_node("step", step)
    g.add_conditional_edge("step", "step", f"n < {limit}")
    g.add_edge("step", END)
    return g


def parallel_asks() -> Graph:
    g = Graph("f1_parallel_asks")
    g.add_node("begin", begin)
    for name, fn in (("ask_a", ask_a), ("ask_b", ask_b), ("plain", plain)):
        g.add_node(name, fn)
        g.add_edge("begin", name)
        g.add_edge(name, "gather")
    g.add_node("gather", gather)
    g.add_edge("gather", END)
    return g


def approval(*, before: bool = False, after: bool = False) -> Graph:
    name = "f1_before" if before else "f1_after"
    g = Graph(name)
    g.add_node("draft", draft, interrupt_after=after)
    g.add_node("publish", publish, interrupt_before=before)
    g.add_edge("draft", "publish")
    g.add_edge("publish", END)
    return g


def map_ask() -> Graph:
    """A map whose second item asks: the run waits inside an open map frame."""
    g = Graph("f1_map_ask", reducers={"out": "append"})
    g.add_node("split", split)
    g.add_node("review", review)
    g.add_node("total", total)
    g.add_map_edge("split", "review", over="items", max_concurrency=2)
    g.add_edge("review", "total")
    g.add_edge("total", END)
    return g


def map_crash() -> Graph:
    """split -> (map work over items, max 2 at once | hold) -> total: killed while the
    map's third item and ``hold`` execute, inside a fan-out frame and a map frame."""
    g = Graph("f1_map_crash", reducers={"out": "append"})
    g.add_node("begin", begin)
    g.add_node("split", split)
    g.add_node("work", work)
    g.add_node("hold", hold)
    g.add_node("total", total)
    g.add_edge("begin", ["split", "hold"])
    g.add_map_edge("split", "work", over="items", max_concurrency=2)
    g.add_edge(["work", "hold"], "total")
    g.add_edge("total", END)
    return g


def entry_crash() -> Graph:
    """Killed in its first node: no checkpoint at all."""
    g = Graph("f1_entry_crash")
    g.add_node("hold_entry", hold_entry)
    g.add_edge("hold_entry", END)
    return g


# -- the generating process (run by fixtures/make_format1.py) ---------------------------
async def generate(url: str) -> None:
    """Leave runs finished, waiting and (after the caller's SIGKILL) running at ``url``."""
    from runtime import Runtime, RunWaiting

    async with Runtime(url) as rt:
        for run_id, graph, data in (("done-fanout", fanout_loop(), {}),
                                    ("done-counter", counter(), {"n": 0})):
            await (await rt.start(graph.compile(), data, run_id=run_id)).result()
        # An edit "as a node" of a finished run: format 1 records it as a fake pending
        # activation with "continue_after".
        await rt.update_state("done-counter", {"n": 2}, as_node="step")
        for run_id, graph in (("wait-asks", parallel_asks()),
                              ("wait-before", approval(before=True)),
                              ("wait-after", approval(after=True)),
                              ("wait-map", map_ask())):
            run = await rt.start(graph.compile(), {}, run_id=run_id)
            try:
                await run.result()
            except RunWaiting:
                pass
        await rt.store.flush()
        os.environ[CRASH] = "1"
        await rt.start(map_crash().compile(), {}, run_id="crash-map")
        await rt.start(entry_crash().compile(), {}, run_id="crash-entry")
        await rt.start(counter().compile(), {"n": 0}, run_id="crash-counter")
        # Until every blocking node runs (work[2], hold, hold_entry, step) and the steps
        # before them are stored: begin, split, work[0], work[1], work[3]; three steps.
        while not (len(BLOCKED) == 4 and await _step(rt, "crash-map") == 5
                   and await _step(rt, "crash-counter") == 3):
            await anyio.sleep(0.01)
        await rt.store.flush()
        print("blocked", flush=True)
        await anyio.sleep_forever()


async def _step(rt: Any, run_id: str) -> int:
    cp = await rt.store.latest_checkpoint(run_id)
    return -1 if cp is None else int(cp.step)
