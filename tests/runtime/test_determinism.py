"""Determinism: parallel writes to one reducer key merge in branch (or item) order,
whatever order the branches finish in, on every run, resume and fork."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from runtime import END, Graph, Runtime, RunWaiting, WorkflowState, ask
from runtime.frames import Frame
from runtime.position import Position, decode, encode


def _appender(name: str, wait: anyio.Event | None = None,
              done: anyio.Event | None = None) -> Any:
    """A node that appends its name to ``out``, after ``wait`` is set; sets ``done``."""
    async def fn(state: WorkflowState) -> dict[str, Any]:
        if wait is not None:
            await wait.wait()
        if done is not None:
            done.set()
        return {"out": name}

    fn.__name__ = name
    return fn


def _fan(names: list[str], fns: dict[str, Any], **kw: Any) -> Graph:
    g = Graph("fan", reducers={"out": "append"}, **kw)
    g.add_node("start", _appender("start"))
    for n in names:
        g.add_node(n, fns[n])
    g.add_node("join", _appender("join"))
    g.add_edge("start", names)
    g.add_edge(names, "join")
    g.add_edge("join", END)
    return g


async def _run(g: Graph, data: dict[str, Any] | None = None) -> WorkflowState:
    async with Runtime() as rt:
        return await (await rt.start(g.compile(), data)).result()


async def test_branches_finishing_in_reverse_order_merge_in_declaration_order() -> None:
    # Forced completion order: c, then b, then a (each waits for the one after it).
    c_done, b_done = anyio.Event(), anyio.Event()
    fns = {"a": _appender("a", wait=b_done), "b": _appender("b", wait=c_done, done=b_done),
           "c": _appender("c", done=c_done)}
    final = await _run(_fan(["a", "b", "c"], fns))
    assert final.data["out"] == ["start", "a", "b", "c", "join"]


async def test_the_join_reads_the_merged_key_in_declaration_order() -> None:
    c_done = anyio.Event()
    seen: list[list[str]] = []

    async def join(state: WorkflowState) -> None:
        seen.append(list(state.data["out"]))

    fns = {"a": _appender("a", wait=c_done), "b": _appender("b", wait=c_done),
           "c": _appender("c", done=c_done)}
    g = _fan(["a", "b", "c"], fns)
    g.nodes["join"].fn = join
    await _run(g)
    assert seen == [["start", "a", "b", "c"]]


async def test_many_runs_with_random_finishing_order_give_one_state() -> None:
    rng = random.Random(13)

    def sleeper(name: str) -> Any:
        async def fn(state: WorkflowState) -> dict[str, Any]:
            await anyio.sleep(rng.random() / 500)
            return {"out": name}
        return fn

    names = ["forum", "paper", "web"]
    results = set()
    for _ in range(30):
        fns = {n: sleeper(n) for n in names}
        final = await _run(_fan(names, fns))
        results.add(tuple(final.data["out"]))
    assert results == {("start", "forum", "paper", "web", "join")}


async def test_branches_of_several_nodes_and_nested_fan_outs_merge_in_branch_order() -> None:
    # a1 -> a2 (a two-node branch); b fans out again to b1, b2 joined at b_join.
    # Completion is forced to run against declaration order everywhere.
    b2_done, b_join_done = anyio.Event(), anyio.Event()
    g = Graph("nested", reducers={"out": "append"})
    g.add_node("start", _appender("start"))
    g.add_node("a1", _appender("a1", wait=b_join_done))
    g.add_node("a2", _appender("a2"))
    g.add_node("b", _appender("b"))
    g.add_node("b1", _appender("b1", wait=b2_done))
    g.add_node("b2", _appender("b2", done=b2_done))
    g.add_node("b_join", _appender("b_join", done=b_join_done))
    g.add_node("join", _appender("join"))
    g.add_edge("start", ["a1", "b"])
    g.add_edge("a1", "a2")
    g.add_edge("b", ["b1", "b2"])
    g.add_edge(["b1", "b2"], "b_join")
    g.add_edge(["a2", "b_join"], "join")
    g.add_edge("join", END)
    final = await _run(g)
    assert final.data["out"] == ["start", "a1", "a2", "b", "b1", "b2", "b_join", "join"]


async def test_a_map_inside_a_branch_merges_in_item_order_within_branch_order() -> None:
    a_may_go = anyio.Event()

    async def item(state: WorkflowState) -> dict[str, Any]:
        # Later items finish first.
        await anyio.sleep(0.001 * (3 - state.data["item"]))
        return {"out": f"item{state.data['item']}"}

    async def m(state: WorkflowState) -> dict[str, Any]:
        return {"out": "m"}

    async def last(state: WorkflowState) -> dict[str, Any]:
        a_may_go.set()
        return {"out": "last"}

    g = Graph("mapped", reducers={"out": "append"})
    g.add_node("start", _appender("start"))
    g.add_node("a", _appender("a", wait=a_may_go))
    g.add_node("m", m)
    g.add_node("item", item)
    g.add_node("last", last)
    g.add_node("join", _appender("join"))
    g.add_edge("start", ["a", "m"])
    g.add_map_edge("m", "item", over="items")
    g.add_edge("item", "last")
    g.add_edge(["a", "last"], "join")
    g.add_edge("join", END)
    final = await _run(g, {"items": [0, 1, 2]})
    assert final.data["out"] == ["start", "a", "m", "item0", "item1", "item2", "last", "join"]


async def test_the_order_survives_a_pause_and_a_resume_from_the_store(durable_url: str) -> None:
    # Branch a asks; b and c write while it waits; the waiting run keeps no task, so
    # the answer continues it from the open frame (with its writes so far) as stored.
    async def a(state: WorkflowState) -> dict[str, Any]:
        return {"out": f"a:{await ask('go?')}"}

    g = _fan(["a", "b", "c"], {"a": a, "b": _appender("b"), "c": _appender("c")})
    compiled = g.compile()
    async with Runtime(durable_url) as rt:
        run = await rt.start(compiled, {})
        with pytest.raises(RunWaiting):
            await run.result()
        assert run.state.data["out"] == ["start", "b", "c"]
        resumed = await rt.resume(run.id, "yes")
        final = await resumed.result()
    assert final.data["out"] == ["start", "a:yes", "b", "c", "join"]


def test_a_frame_s_order_round_trips_through_the_position_format() -> None:
    f = Frame(id=0, kind="fanout", origin="start", join="join", parent=(), expected=3,
              prefix=((1, 2),), seqs={0: 1, 2: 3}, base={"out": ["start"]},
              log=[(((2, 0),), [{"out": "c"}])])
    p = Position((), (), (), (f,), 4, 1, 4)
    back = decode(encode(p)).frames[0]
    assert (back.prefix, back.seqs, back.base, back.log) == (f.prefix, f.seqs, f.base, f.log)


def test_a_frame_stored_before_ordering_existed_still_decodes() -> None:
    f = Frame(id=0, kind="fanout", origin="start", join="join", parent=(), expected=2)
    stored = encode(Position((), (), (), (f,), 1, 1, 1))
    for key in ("prefix", "seqs", "base", "log"):
        stored["frames"][0].pop(key, None)
    back = decode(stored).frames[0]
    assert (back.prefix, back.seqs, back.base, back.log) == ((), {}, {}, [])


async def test_a_replay_and_a_fork_end_with_the_same_order() -> None:
    # Every execution forces the reverse completion order (c, then b, then a).
    def fns() -> dict[str, Any]:
        async def a(state: WorkflowState) -> dict[str, Any]:
            await anyio.sleep(0.02)
            return {"out": "a"}

        async def b(state: WorkflowState) -> dict[str, Any]:
            await anyio.sleep(0.01)
            return {"out": "b"}

        return {"a": a, "b": b, "c": _appender("c")}

    compiled = _fan(["a", "b", "c"], fns()).compile()
    async with Runtime("memory://") as rt:
        run = await rt.start(compiled, {})
        first = (await run.result()).data["out"]
        replayed = (await (await rt.replay(run.id)).result()).data["out"]
        forked = (await (await rt.fork(run.id, 1)).result()).data["out"]
    assert first == replayed == forked == ["start", "a", "b", "c", "join"]


def _map_handler_in_a_branch(reducer: str, handled: anyio.Event) -> Graph:
    """A fan-out: branch ``a`` writes ``total`` only once the handler of a failed map item
    in branch ``m`` has written it, so ``a``'s write arrives early and is refolded."""
    async def a(state: WorkflowState) -> dict[str, Any]:
        await handled.wait()
        return {"total": [100] if reducer == "append" else 100}

    async def m(state: WorkflowState) -> dict[str, Any]:
        return {"total": [1] if reducer == "append" else 1}

    async def work(state: WorkflowState) -> dict[str, Any]:
        raise ValueError(f"item {state.data['item']}")

    async def fix(state: WorkflowState) -> dict[str, Any]:
        return {"total": [10] if reducer == "append" else 10}

    async def signal(state: WorkflowState) -> None:
        handled.set()   # runs once the supervisor has merged fix's write

    g = Graph("maphandler", reducers={"total": reducer})
    g.add_node("start", _appender("start")).add_node("a", a).add_node("m", m)
    g.add_node("work", work).add_node("fix", fix).add_node("signal", signal)
    g.add_node("join", _appender("join"))
    g.add_edge("start", ["a", "m"])
    g.add_map_edge("m", "work", over="items")
    g.add_edge(["a", "work"], "join")
    g.add_error_edge("work", "fix")
    g.add_edge("fix", "signal")
    g.add_edge("join", END)
    return g


@pytest.mark.parametrize("reducer", ["add", "append"])
async def test_a_failed_map_item_s_handler_write_survives_a_refold_of_its_key(reducer: str) -> None:
    # The handler of a failed item runs outside every frame, while the fan-out holding
    # the map is still open; a branch declared earlier then writes the same key late,
    # which folds the fan-out's writes again over their base. The handler's write must be
    # in that fold, and (being outside the frame) sorts before the frame's writes.
    final = await _run(_map_handler_in_a_branch(reducer, anyio.Event()),
                       {"items": [0], "total": [] if reducer == "append" else 0})
    assert final.errors == ["work: ValueError: item 0"]
    assert final.data["total"] == ([10, 100, 1] if reducer == "append" else 111)
