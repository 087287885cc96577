"""What a LangGraph user reaches for first: routers with path maps, START, state["key"],
Send, and conditions on unset keys failing the same way every time."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from runtime import (
    END,
    START,
    Graph,
    GraphValidationError,
    NodeContext,
    RunFailed,
    Runtime,
    Send,
    WorkflowState,
)


async def _run(g: Graph, data: dict[str, Any] | None = None) -> WorkflowState:
    async with Runtime() as rt:
        return await (await rt.start(g.compile(), data)).result()


def _visit(name: str) -> Any:
    async def fn(state: WorkflowState) -> dict[str, Any]:
        return {"visited": [name]}
    fn.__name__ = name
    return fn


def _graph(*names: str) -> Graph:
    g = Graph("routes", reducers={"visited": "append"})
    for n in names:
        g.add_node(n, _visit(n))
    return g


# --- routers --------------------------------------------------------------------------------


def pick_by_kind(state: WorkflowState) -> str:
    return state["kind"]


async def test_a_router_returning_a_key_of_its_path_map_goes_to_that_node() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edges("a", pick_by_kind, {"left": "b", "right": "c"})
    g.add_edge(["b", "c"], END)
    assert (await _run(g, {"kind": "right"})).data["visited"] == ["a", "c"]
    assert (await _run(g, {"kind": "left"})).data["visited"] == ["a", "b"]


async def test_a_router_returning_a_node_name_routes_there_not_merely_truthy() -> None:
    # Before: a callable returning "c" was truthy and took whatever edge it sat on.
    g = _graph("a", "b", "c")
    g.add_conditional_edges("a", lambda s: "c", ["b", "c"])
    g.add_edge(["b", "c"], END)
    assert (await _run(g)).data["visited"] == ["a", "c"]


def literal_router(state: WorkflowState) -> Literal["b", "__end__"]:
    return "b" if state["go"] else END  # type: ignore[return-value]


async def test_a_router_s_literal_return_annotation_declares_its_targets() -> None:
    g = _graph("a", "b")
    g.add_conditional_edges("a", literal_router)
    g.add_edge("b", END)
    assert (await _run(g, {"go": True})).data["visited"] == ["a", "b"]
    assert (await _run(g, {"go": False})).data["visited"] == ["a"]


async def test_a_router_returning_a_list_fans_out_and_the_branches_join_once() -> None:
    g = _graph("a", "b", "c", "d", "join")
    g.add_conditional_edges("a", lambda s: ["d", "b"], ["b", "c", "d"])
    g.add_edge(["b", "c", "d"], "join")
    g.add_edge("join", END)
    # Branches in the order the router named them: d, then b.
    assert (await _run(g)).data["visited"] == ["a", "d", "b", "join"]


async def test_a_router_returning_none_takes_the_default_edges() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edges("a", lambda s: None, ["b"])
    g.add_edge("a", "c")
    g.add_edge(["b", "c"], END)
    assert (await _run(g)).data["visited"] == ["a", "c"]


async def test_a_router_returning_an_undeclared_name_fails_naming_router_and_node() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edges("a", pick_by_kind, {"left": "b"})
    g.add_edge(["b", "c"], END)
    g.add_edge("a", "c")
    with pytest.raises(RunFailed, match=r"router 'pick_by_kind' of node 'a' returned 'up', "
                                        r"which is not one of its declared targets \('left'\)"):
        await _run(g, {"kind": "up"})


def test_a_router_without_declared_targets_is_refused_at_compile_time() -> None:
    g = _graph("a", "b")
    g.add_conditional_edges("a", lambda s: "b")
    g.add_edge("b", END)
    with pytest.raises(GraphValidationError, match="path_map"):
        g.compile()


async def test_a_condition_function_returning_a_name_is_an_error_not_truthy() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edge("a", "b", lambda s: "c")
    g.add_edge("a", "c")
    g.add_edge(["b", "c"], END)
    with pytest.raises(RunFailed, match="add_conditional_edges"):
        await _run(g)


def visit_a(state: WorkflowState) -> dict[str, Any]:
    return {"visited": ["a"]}


def visit_b(state: WorkflowState) -> dict[str, Any]:
    return {"visited": ["b"]}


def visit_c(state: WorkflowState) -> dict[str, Any]:
    return {"visited": ["c"]}


def _importable() -> Graph:
    g = Graph("routes", reducers={"visited": "append"})
    for fn in (visit_a, visit_b, visit_c):
        g.add_node(fn.__name__[-1], fn)
    return g


def test_routers_survive_the_json_form_and_are_drawn() -> None:
    g = _importable()
    g.add_conditional_edges("a", pick_by_kind, {"left": "b", "right": "c"})
    g.add_edge(["b", "c"], END)
    d = g.to_json()
    edges = [e for e in d["edges"] if e.get("router")]
    assert {(e["to"], e.get("when")) for e in edges} == {("b", "left"), ("c", "right")}
    assert all(e["router"].endswith(":pick_by_kind") for e in edges)
    with pytest.raises(GraphValidationError, match="router .*importing code named in "
                                                   "untrusted JSON is refused"):
        Graph.from_json(d)
    again = Graph.from_json(d, trusted=True)
    assert again.to_json() == d
    assert 'pick_by_kind: left' in again.to_mermaid()
    again.compile()


async def test_a_json_graph_with_a_router_runs() -> None:
    g = _importable()
    g.add_conditional_edges("a", pick_by_kind, {"left": "b", "right": "c"})
    g.add_edge(["b", "c"], END)
    again = Graph.from_json(g.to_json(), trusted=True)
    assert (await _run(again, {"kind": "left"})).data["visited"] == ["a", "b"]


# --- START and state["key"] -------------------------------------------------------------------


async def test_start_names_the_entry_point() -> None:
    g = _graph("a", "b")
    g.add_edge("a", END)
    g.add_edge(START, "b")
    g.add_edge("b", "a")
    assert (await _run(g)).data["visited"] == ["b", "a"]


def test_start_in_json_sets_the_entry_point_and_two_starts_are_refused() -> None:
    d = {"name": "j", "nodes": [{"name": "a", "tool": "set"}, {"name": "b", "tool": "set"}],
         "edges": [{"from": "START", "to": "b"}, {"from": "b", "to": "a"},
                   {"from": "a", "to": "END"}]}
    assert Graph.from_json(d).entry_point == "b"
    g = _graph("a", "b")
    g.add_edge(START, ["a", "b"])
    g.add_edge(["a", "b"], END)
    with pytest.raises(GraphValidationError, match="one entry point"):
        g.compile()


async def test_state_reads_like_langgraph_s_dict_state() -> None:
    seen: dict[str, Any] = {}

    async def node(state: WorkflowState) -> None:
        seen.update(topic=state["topic"], missing=state.get("nope", "dflt"),
                    has="topic" in state)
        with pytest.raises(KeyError, match="'nope' is not in the state's data"):
            state["nope"]

    g = Graph("dict")
    g.add_node("n", node)
    g.add_edge("n", END)
    await _run(g, {"topic": "x"})
    assert seen == {"topic": "x", "missing": "dflt", "has": True}


# --- Send ----------------------------------------------------------------------------------------


async def test_send_fans_out_over_per_item_payloads_and_joins_after() -> None:
    async def grade(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
        assert ctx.item == {"doc": state["doc"]}
        return {"grades": [f"{state['doc']}:{len(state['doc'])}"]}

    async def total(state: WorkflowState) -> dict[str, Any]:
        return {"n": len(state["grades"])}

    g = Graph("send", reducers={"grades": "append"})
    g.add_node("split", lambda s: None)
    g.add_node("grade", grade)
    g.add_node("total", total)
    g.add_conditional_edges("split", lambda s: [Send("grade", {"doc": d}) for d in s["docs"]],
                            ["grade"])
    g.add_edge("grade", "total")
    g.add_edge("total", END)
    final = await _run(g, {"docs": ["aa", "b", "cccc"]})
    assert final.data["grades"] == ["aa:2", "b:1", "cccc:4"]
    assert final.data["n"] == 3                      # total ran once, after all three
    assert "doc" not in final.data                   # the payloads were never written


async def test_a_send_to_an_undeclared_node_fails_naming_it() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edges("a", lambda s: [Send("c", {})], ["b"])
    g.add_edge(["b", "c"], END)
    g.add_edge("a", "c")
    with pytest.raises(RunFailed, match=r"returned Send\('c', \.\.\.\)"):
        await _run(g)


# --- conditions on unset keys ---------------------------------------------------------------


async def test_a_bare_misspelled_key_fails_like_a_compared_one() -> None:
    for condition in ("aproved", "scroe > 50"):
        g = _graph("a", "b", "c")
        g.add_conditional_edge("a", "b", condition)
        g.add_edge("a", "c")
        g.add_edge(["b", "c"], END)
        with pytest.raises(RunFailed, match=r"which is not set; did you mean"):
            await _run(g, {"approved": True, "score": 60})


async def test_a_key_set_to_none_is_set() -> None:
    g = _graph("a", "b", "c")
    g.add_conditional_edge("a", "b", "review is None")
    g.add_edge("a", "c")
    g.add_edge(["b", "c"], END)
    assert (await _run(g, {"review": None})).data["visited"] == ["a", "b"]
