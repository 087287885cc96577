"""Dynamic routing from a node (LangGraph's ``Command``): an update plus where to go,
within the targets the node declares."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import (
    END,
    Command,
    Graph,
    GraphValidationError,
    RunFailed,
    Runtime,
    RunWaiting,
    Send,
    WorkflowState,
)


async def _run(g: Graph, data: dict[str, Any] | None = None) -> WorkflowState:
    async with Runtime() as rt:
        return await (await rt.start(g.compile(), data)).result()


def decide(state: WorkflowState) -> Command:
    """Goes wherever data["to"] says, writing what it decided."""
    return Command(update={"decided": state["to"]}, goto=state["to"])


def visit_b(state: WorkflowState) -> dict[str, Any]:
    return {"visited": ["b"]}


def visit_c(state: WorkflowState) -> dict[str, Any]:
    return {"visited": ["c"]}


def _graph(**kw: Any) -> Graph:
    g = Graph("command", reducers={"visited": "append"})
    g.add_node("decide", decide, goto=["b", "c", END])
    g.add_node("b", visit_b)
    g.add_node("c", visit_c)
    g.add_edge(["b", "c"], END)
    return g


async def test_a_command_writes_its_update_and_goes_where_it_says() -> None:
    final = await _run(_graph(), {"to": "c"})
    assert final.data["decided"] == "c" and final.data["visited"] == ["c"]
    final = await _run(_graph(), {"to": "b"})
    assert final.data["visited"] == ["b"]


async def test_a_command_to_end_finishes_the_branch() -> None:
    final = await _run(_graph(), {"to": "END"})
    assert final.data["decided"] == "END" and "visited" not in final.data


async def test_a_command_to_several_targets_fans_out_and_joins() -> None:
    g = Graph("fan", reducers={"visited": "append"})
    g.add_node("decide", lambda s: Command(goto=["c", "b"]), goto=["b", "c"])
    g.add_node("b", visit_b)
    g.add_node("c", visit_c)
    g.add_node("join", lambda s: {"joined": list(s["visited"])})
    g.add_edge(["b", "c"], "join")
    g.add_edge("join", END)
    final = await _run(g)
    # Parallel branches in the order the command named them; the join ran once.
    assert final.data["joined"] == ["c", "b"]


async def test_a_command_may_send_per_branch_payloads() -> None:
    g = Graph("send", reducers={"out": "append"})
    g.add_node("decide", lambda s: Command(goto=[Send("work", {"n": i}) for i in range(3)]),
               goto=["work"])
    g.add_node("work", lambda s: {"out": [s["n"] * 10]})
    g.add_edge("work", END)
    assert (await _run(g)).data["out"] == [0, 10, 20]


async def test_an_undeclared_target_fails_naming_the_node_and_leaves_state_unwritten() -> None:
    g = _graph()
    g.add_node("d", visit_b)
    g.add_edge("d", END)
    g.add_edge("decide", "d")   # reachable some other way, but not a goto target
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {"to": "d"})
        with pytest.raises(RunFailed, match=r"node 'decide' returned Command\(goto='d'\), but "
                                            r"'d' is not one of the targets it declares"):
            await run.result()
        assert "decided" not in run.state.data


def test_an_unknown_goto_target_is_refused_at_compile_time() -> None:
    g = Graph("bad")
    g.add_node("decide", decide, goto=["nowhere"])
    g.add_edge("decide", END)
    with pytest.raises(GraphValidationError, match="unknown goto target 'nowhere'"):
        g.compile()


async def test_goto_targets_are_edges_for_reachability_and_drawing() -> None:
    g = _graph()
    compiled = g.compile()   # b and c are reachable only through goto
    assert '-.->|"goto"|' in compiled.to_mermaid()


async def test_a_command_works_in_a_json_definition() -> None:
    d = _graph().to_json()
    decide_def = next(n for n in d["nodes"] if n["name"] == "decide")
    assert decide_def["goto"] == ["b", "c", "END"]
    final = await _run(Graph.from_json(d, trusted=True), {"to": "c"})
    assert final.data["visited"] == ["c"]


async def test_a_command_without_goto_follows_the_edges() -> None:
    g = Graph("plain")
    g.add_node("a", lambda s: Command(update={"x": 1}))
    g.add_node("b", lambda s: {"y": s["x"] + 1})
    g.add_edge("a", "b")
    g.add_edge("b", END)
    assert (await _run(g)).data == {"x": 1, "y": 2}


async def test_a_command_goto_holds_across_a_pause_after_its_node(store_url: str) -> None:
    g = _graph()
    g.add_edge("decide", "b")   # the edges, which the command's goto replaces
    async with Runtime(store_url) as rt:
        run = await rt.start(g.compile(), {"to": "c"}, interrupt_after=["decide"])
        with pytest.raises(RunWaiting) as paused:
            await run.result()
        [waiting] = paused.value.interrupts
        assert waiting["payload"] == {"after": "decide", "goto": ["c"]}
        # Resumed from its checkpoint (a paused run keeps no task): still goes to c.
        final = await (await rt.resume(run.id)).result()
    assert final.data["visited"] == ["c"]


async def test_sends_with_their_payloads_hold_across_a_pause_after_their_node(
        store_url: str) -> None:
    g = Graph("send_pause", reducers={"out": "append"})
    g.add_node("decide", lambda s: Command(goto=[Send("work", {"n": i}) for i in range(3)]),
               goto=["work"], interrupt_after=True)
    g.add_node("work", lambda s: {"out": [s["n"] * 10]})
    g.add_edge("work", END)
    async with Runtime(store_url) as rt:
        run = await rt.start(g.compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        final = await (await rt.resume(run.id)).result()
    assert final.data["out"] == [0, 10, 20]
