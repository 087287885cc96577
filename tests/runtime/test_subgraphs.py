"""Subgraphs: a compiled graph as a node of another (issue 13, item 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import subgraphs as sg

from runtime import END, Graph, GraphValidationError, Runtime, RunWaiting
from runtime.errors import RunFailed
from runtime.store import open_store
from runtime.specs import MAX_DEPTH

HERE = Path(__file__).parent


async def double(state: Any) -> dict[str, Any]:
    return {"y": state.data["x"] * 2, "notes": ["doubled"]}


async def add_one(state: Any) -> dict[str, Any]:
    return {"y": state.data["y"] + 1}


def child() -> Graph:
    g = Graph("child")
    g.add_node("double", double)
    g.add_node("inc", add_one)
    g.add_edge("double", "inc")
    g.add_edge("inc", END)
    return g


def parent(**kw: Any) -> Graph:
    g = Graph("parent", reducers={"notes": "append"})
    g.add_subgraph("calc", child().compile(), inputs={"n": "x"},
                   outputs={"y": "result", "notes": "notes"}, **kw)
    g.add_edge("calc", END)
    return g


async def test_a_subgraph_maps_its_inputs_in_and_its_outputs_out_through_reducers(
        store_url: str) -> None:
    async with Runtime(store_url) as rt:
        final = await (await rt.start(parent(), {"n": 5, "notes": ["before"]})).result()
    # y = 5*2+1 came out as result; notes appended through the parent's reducer; the
    # child's own keys (x, y) did not leak into the parent.
    assert final.data == {"n": 5, "result": 11, "notes": ["before", "doubled"]}


async def test_subgraph_events_carry_the_path_and_are_replayed_from_the_store(
        store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(parent(), {"n": 1})
        await run.result()
        replayed = [e.node async for e in rt.events(run.id)
                    if e.type.value == "node_completed"]
        stored = [e.node for e in await rt.store.read_events(run.id)
                  if e.type.value == "node_completed"]
    assert replayed[:3] == ["calc/double", "calc/inc", "calc"]
    if not store_url.startswith("memory"):
        assert stored[:3] == ["calc/double", "calc/inc", "calc"]


async def test_subgraph_steps_are_checkpointed_under_the_parent_run_with_their_path(
        store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(parent(), {"n": 2})
        await run.result()
        children = await rt.subgraph_runs(run.id)
        assert children == [f"{run.id}/calc:0"]
        history = await rt.history(children[0])
        state = await rt.get_state(children[0], history[0].step)
    assert [c.nodes for c in history] == [["double"], ["inc"]]
    assert {c.position.path for c in history if c.position is not None} == {"calc"}
    assert state.data == {"x": 2, "y": 4, "notes": ["doubled"]}


async def test_parallel_subgraphs_each_ask_and_resume_where_they_asked(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(sg.parallel_asking(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        waiting = await rt.interrupts(run.id)
        ids = sorted(w["id"] for w in waiting)
        # The path is in the id: subgraph node and activation, then the child's own id.
        assert ids == ["left:1/q:0:1", "right:2/q:0:1"]
        run = await rt.resume(run.id, "L", interrupt_id="left:1/q:0:1")
        with pytest.raises(RunWaiting):
            await run.result()
        assert [w["id"] for w in await rt.interrupts(run.id)] == ["right:2/q:0:1"]
        run = await rt.resume(run.id, "R", interrupt_id="right:2/q:0:1")
        final = await run.result()
    assert final.data["answers"] == ["x=L", "y=R"]


async def map_item(state: Any) -> dict[str, Any]:
    return {"out": state.data["v"] * 10}


def per_item() -> Graph:
    g = Graph("per_item")
    g.add_node("times", map_item)
    g.add_edge("times", END)
    return g


async def test_a_subgraph_under_a_map_edge_runs_once_per_item(store_url: str) -> None:
    g = Graph("mapper", reducers={"outs": "append"})
    g.add_node("split", "set", config={"values": {"items": [1, 2, 3]}})
    g.add_subgraph("each", per_item(), inputs={"item": "v"}, outputs={"out": "outs"})
    g.add_map_edge("split", "each", over="items")
    g.add_edge("each", END)
    async with Runtime(store_url) as rt:
        final = await (await rt.start(g, {})).result()
    assert final.data["outs"] == [10, 20, 30]


async def boom(state: Any) -> dict[str, Any]:
    raise ValueError("bad input")


async def test_a_failure_inside_a_subgraph_names_the_path() -> None:
    inner = Graph("inner")
    inner.add_node("explode", boom)
    inner.add_edge("explode", END)
    g = Graph("outer")
    g.add_subgraph("step", inner)
    g.add_edge("step", END)
    async with Runtime() as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunFailed) as info:
            await run.result()
    assert info.value.node == "step/explode"
    assert "bad input" in str(info.value)


def test_a_graph_that_includes_itself_is_refused_naming_the_cycle() -> None:
    g = Graph("selfish")
    g.add_subgraph("me", g)
    g.add_edge("me", END)
    with pytest.raises(GraphValidationError, match=r"includes itself \(selfish -> selfish\)"):
        g.compile()


def test_subgraphs_nested_deeper_than_the_limit_are_refused_clearly() -> None:
    g = child()
    for i in range(MAX_DEPTH):
        outer = Graph(f"level{i}")
        outer.add_subgraph("inside", g)
        outer.add_edge("inside", END)
        g = outer
    with pytest.raises(GraphValidationError, match=f"more than {MAX_DEPTH}"):
        g.compile()


def test_mermaid_and_json_show_the_nesting() -> None:
    compiled = parent().compile()
    chart = compiled.to_mermaid()
    assert 'subgraph n_calc["calc<br/><small>subgraph: child</small>"]' in chart
    assert "n_calc_2f_double" in chart   # the child's node, under the path calc/double
    node = compiled.to_json()["nodes"][0]
    assert node["subgraph"]["graph"] == "child"
    assert node["subgraph"]["inputs"] == {"n": "x"}
    assert [n["name"] for n in node["subgraph"]["definition"]["nodes"]] == ["double", "inc"]
    # The JSON form builds the same graph back (a run carries it for crash recovery).
    again = Graph.from_json(compiled.to_json(), trusted=True).compile()
    assert again.version == compiled.version


async def test_json_names_a_stored_graph_by_name_and_version(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        stored = await rt.save_graph(child())
        version = (await rt.load_graph("child"))[0].version
        definition = {"name": "by_name", "reducers": {"notes": "append"},
                      "nodes": [{"name": "calc", "subgraph": {
                          "graph": stored.name, "version": version, "inputs": {"n": "x"},
                          "outputs": {"y": "result"}}}],
                      "edges": [{"from": "calc", "to": "END"}]}
        compiled = await rt.graphs.compile(definition)
        final = await (await rt.start(compiled, {"n": 3})).result()
        assert final.data["result"] == 7
        wrong = {**definition, "nodes": [{"name": "calc", "subgraph": {
            "graph": "child", "version": "sha256:0000"}}]}
        with pytest.raises(GraphValidationError, match="not the sha256:0000 asked for"):
            await rt.graphs.compile(wrong)
        missing = {**definition, "nodes": [{"name": "calc", "subgraph": {"graph": "nope"}}]}
        with pytest.raises(GraphValidationError, match="'nope'"):
            await rt.graphs.compile(missing)


# -- kill -9 inside a subgraph --------------------------------------------------------------
def _start_and_kill(url: str) -> int:
    """Start the outer run in a subprocess, SIGKILL it once the subgraph has made some
    steps; return the child's latest step at the kill."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    proc = subprocess.Popen([sys.executable, str(HERE / "subgraphs.py"), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"started", proc.stderr.read() if proc.stderr else line
        return anyio.run(_wait_for_child_steps, url)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


async def _wait_for_child_steps(url: str) -> int:
    store = open_store(url)
    await store.open()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cp = await store.latest_checkpoint("outer/sub:1")
            if cp is not None and cp.step >= 5:
                return cp.step
            await anyio.sleep(0.02)
        raise AssertionError("the subgraph made no progress in 30s")
    finally:
        await store.close()


async def _recover(url: str) -> tuple[dict[str, Any], int]:
    sg.CALLS.clear()
    async with Runtime(url) as rt:
        run = rt.get("outer")
        final = await run.result()
        latest = await rt.store.latest_checkpoint("outer/sub:1")
        assert latest is not None
    return final.data, latest.step


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_run_killed_inside_a_subgraph_resumes_inside_it(durable_url: str, backend: str) -> None:
    killed_at = _start_and_kill(durable_url)
    data, _ = anyio.run(_recover, durable_url, backend=backend)
    assert data["total"] == sg.LOOPS
    assert sorted(set(data["log"])) == list(range(sg.LOOPS))
    # Resumed inside: this process ran the ticks after the kill (one may run twice:
    # at least once), not all of them from the subgraph's start.
    assert 0 < len(sg.CALLS) <= sg.LOOPS - killed_at + 1
    assert min(sg.CALLS) >= killed_at - 1


PREPARED: list[str] = []


async def prepare(state: Any) -> dict[str, Any]:
    PREPARED.append(state.run_id)
    return {"topic": "ready"}


def prepare_then_ask() -> Graph:
    g = Graph("prepare_then_ask")
    g.add_node("prepare", prepare)
    g.add_node("q", sg.question)
    g.add_edge("prepare", "q")
    g.add_edge("q", END)
    return g


async def test_a_fork_of_a_run_waiting_inside_a_subgraph_goes_on_inside_it(
        store_url: str) -> None:
    g = Graph("forked_parent")
    g.add_subgraph("inner", prepare_then_ask(), outputs={"answer": "answer"})
    g.add_edge("inner", END)
    PREPARED.clear()
    async with Runtime(store_url) as rt:
        run = await rt.start(g, {})
        with pytest.raises(RunWaiting):
            await run.result()
        assert len(PREPARED) == 1
        fork = await rt.fork(run.id)
        with pytest.raises(RunWaiting):
            await fork.result()
        assert [w["id"] for w in await rt.interrupts(fork.id)] == ["inner:0/q:1:1"]
        resumed = await rt.resume(fork.id, "yes", interrupt_id="inner:0/q:1:1")
        final = await resumed.result()
        assert final.data["answer"] == "ready=yes"
        # The fork went on inside the subgraph: its first node did not run again.
        assert len(PREPARED) == 1
        assert await rt.subgraph_runs(fork.id) == [f"{fork.id}/inner:0"]


async def test_nested_subgraphs_carry_the_whole_path_in_events_and_interrupt_ids(
        store_url: str) -> None:
    mid = Graph("mid")
    mid.add_subgraph("inner", sg.asking(), inputs=["topic"], outputs=["answer"])
    mid.add_edge("inner", END)
    top = Graph("top")
    top.add_subgraph("mid", mid, inputs=["topic"], outputs=["answer"])
    top.add_edge("mid", END)
    async with Runtime(store_url) as rt:
        run = await rt.start(top, {"topic": "t"})
        with pytest.raises(RunWaiting):
            await run.result()
        assert [w["id"] for w in await rt.interrupts(run.id)] == ["mid:0/inner:0/q:0:1"]
        resumed = await rt.resume(run.id, "yes")
        final = await resumed.result()
        nodes = [e.node async for e in rt.events(run.id) if e.type.value == "node_completed"]
        children = await rt.subgraph_runs(run.id)
    assert final.data["answer"] == "t=yes"
    assert nodes == ["mid/inner/q", "mid/inner", "mid"]
    assert children == [f"{run.id}/mid:0", f"{run.id}/mid:0/inner:0"]


async def test_pruning_a_run_prunes_its_subgraph_steps(store_url: str) -> None:
    async with Runtime(store_url) as rt:
        run = await rt.start(parent(), {"n": 1})
        await run.result()
        child = (await rt.subgraph_runs(run.id))[0]
        assert await rt.store.list_checkpoints(child)
        await rt.store.flush()
        assert await rt.store.prune(older_than_seconds=0) == 1
        assert await rt.store.list_checkpoints(child) == []
