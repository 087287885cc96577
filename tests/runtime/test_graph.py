"""Building graphs, validating them (every problem at once) and their JSON form."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from pydantic import BaseModel

from runtime import (
    END,
    Graph,
    GraphSerializationError,
    GraphValidationError,
    RetryPolicy,
    ToolRegistry,
    WorkflowState,
)
from runtime.compiled import CompiledGraph

# Module-level (importable) node functions, conditions, reducers and schemas: the JSON
# form names them as "module:qualname".


async def step(state: WorkflowState) -> dict[str, Any]:
    return {}


def sync_step(state: WorkflowState) -> dict[str, Any]:
    return {}


def is_ready(state: WorkflowState) -> bool:
    return bool(state.data.get("ready"))


def keep_longest(old: Any, new: Any) -> Any:
    return new if old is None or len(new) > len(old) else old


class Schema(BaseModel):
    score: int = 0


class Holder:
    @staticmethod
    async def nested(state: WorkflowState) -> None:
        return None


def problems_of(graph: Graph) -> list[str]:
    with pytest.raises(GraphValidationError) as info:
        graph.compile()
    return info.value.problems


def chain(*names: str) -> Graph:
    g = Graph("chain")
    for n in names:
        g.add_node(n, step)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


# --- building ---------------------------------------------------------------------------


def test_a_valid_graph_compiles_to_a_compiled_graph() -> None:
    compiled = chain("a", "b", "c").compile()
    assert isinstance(compiled, CompiledGraph)
    assert compiled.entry_point == "a"
    assert list(compiled.nodes) == ["a", "b", "c"]


def test_first_node_added_is_the_entry_point_by_default() -> None:
    g = Graph("g").add_node("first", step).add_node("second", step)
    assert g.entry_point == "first"


def test_set_entry_point_overrides_the_default() -> None:
    g = chain("a", "b")
    g.set_entry_point("b")
    g.add_edge("b", "a")
    assert g.entry_point == "b"


def test_builder_methods_return_the_graph_for_chaining() -> None:
    g = Graph("g")
    assert g.add_node("a", step) is g
    assert g.add_edge("a", END) is g
    assert g.set_entry_point("a") is g
    assert g.add_reducer("k", "append") is g


def test_node_from_a_registered_tool_by_name() -> None:
    reg = ToolRegistry()

    @reg.tool(name="greet")
    async def greet(state: WorkflowState) -> dict[str, Any]:
        return {"greeting": "hi"}

    g = Graph("g", registry=reg)
    g.add_node("hello", tool="greet")
    g.add_edge("hello", END)
    assert g.compile().nodes["hello"].fn is greet


def test_string_passed_as_fn_is_taken_as_a_tool_name() -> None:
    g = Graph("g")
    g.add_node("wait", "delay")
    assert g.nodes["wait"].tool == "delay"
    assert g.nodes["wait"].fn is None


def test_node_without_fn_or_tool_uses_its_name_as_tool() -> None:
    g = Graph("g")
    g.add_node("delay")
    assert g.nodes["delay"].tool == "delay"


def test_sync_and_async_nodes_are_told_apart_at_compile_time() -> None:
    g = Graph("g").add_node("a", step).add_node("s", sync_step)
    g.add_edge("a", "s").add_edge("s", END)
    compiled = g.compile()
    assert compiled.nodes["a"].is_async is True
    assert compiled.nodes["s"].is_async is False


def test_add_edge_with_several_targets_declares_parallel_edges() -> None:
    g = Graph("g").add_node("s", step).add_node("x", step).add_node("y", step)
    g.add_edge("s", ["x", "y"])
    assert [(e.source, e.target) for e in g.edges] == [("s", "x"), ("s", "y")]


def test_add_join_declares_an_edge_from_each_branch() -> None:
    g = Graph("g")
    g.add_join(["x", "y"], "j")
    assert [(e.source, e.target) for e in g.edges] == [("x", "j"), ("y", "j")]


def test_conditional_edge_accepts_expression_callable_or_registered_name() -> None:
    g = Graph("g")
    g.add_conditional_edge("a", "b", "score < 70")
    g.add_conditional_edge("a", "c", is_ready)
    g.add_conditional_edge("a", "d", "fn:ready")
    assert g.edges[0].condition == "score < 70"
    assert g.edges[1].condition_fn is is_ready
    assert g.edges[2].condition_fn == "ready"
    assert all(e.conditional for e in g.edges)


# --- validation: every problem at once ---------------------------------------------------


def test_duplicate_node_names_are_reported_at_compile_not_at_add() -> None:
    g = chain("a", "b")
    g.add_node("a", sync_step)  # no exception here
    assert "duplicate node name 'a'" in problems_of(g)


def test_edge_to_unknown_node_is_reported_with_its_name() -> None:
    g = chain("a")
    g.add_edge("a", "nowhere")
    assert any("unknown target node 'nowhere'" in p for p in problems_of(g))


def test_edge_from_unknown_node_is_reported_with_its_name() -> None:
    g = chain("a")
    g.add_edge("ghost", "a")
    assert any("unknown source node 'ghost'" in p for p in problems_of(g))


def test_graph_without_nodes_reports_missing_entry_point() -> None:
    assert any("no entry point" in p for p in problems_of(Graph("empty")))


def test_entry_point_that_is_not_a_node_is_reported() -> None:
    g = chain("a")
    g.set_entry_point("zz")
    assert any("entry point 'zz' is not a node" in p for p in problems_of(g))


def test_a_misspelled_node_name_in_an_edge_gets_a_did_you_mean() -> None:
    g = chain("extract", "analyze")
    g.add_edge("analyse", "extract")
    g.add_edge("extract", "analyz")
    problems = problems_of(g)
    assert any("unknown source node 'analyse'; did you mean 'analyze'?" in p for p in problems)
    assert any("unknown target node 'analyz'; did you mean 'analyze'?" in p for p in problems)


def test_a_misspelled_entry_point_and_error_handler_get_a_did_you_mean() -> None:
    g = chain("extract", "report")
    g.set_entry_point("extrct")
    g.add_node("guarded", step, on_error="reprot")
    problems = problems_of(g)
    assert any("entry point 'extrct' is not a node; did you mean 'extract'?" in p
               for p in problems)
    assert any("unknown error handler node 'reprot'; did you mean 'report'?" in p
               for p in problems)


def test_an_edge_to_end_spelled_another_way_says_how_to_name_the_end() -> None:
    g = chain("a")
    g.add_edge("a", "End")
    assert any("unknown target node 'End'; the end of the graph is END ('__end__'" in p
               for p in problems_of(g))


def test_to_end_in_json_is_the_end_of_the_graph() -> None:
    g = Graph.from_json({"name": "ends", "nodes": [{"name": "a", "tool": "set"}],
                         "edges": [{"from": "a", "to": "END"}]})
    assert g.compile().nodes["a"].static == (END,)
    assert g.to_json()["edges"] == [{"from": "a", "to": END}]


def test_a_node_named_end_in_json_keeps_its_name() -> None:
    g = Graph.from_json({"name": "ends", "entry_point": "a",
                         "nodes": [{"name": "a", "tool": "set"}, {"name": "END", "tool": "set"}],
                         "edges": [{"from": "a", "to": "END"}]})
    assert g.compile().nodes["a"].static == ("END",)


def test_unreachable_node_is_reported() -> None:
    g = chain("a", "b")
    g.add_node("orphan", step)
    g.add_edge("orphan", END)
    assert problems_of(g) == ["node 'orphan' is unreachable from entry point 'a'"]


def test_node_with_no_path_to_end_is_reported() -> None:
    g = chain("a", "b")
    g.add_node("spin", step)
    g.add_edge("a", "spin")
    g.add_edge("spin", "spin")
    problems = problems_of(g)
    assert len(problems) == 1
    assert "node 'spin' has no path to END" in problems[0]


def test_loop_with_an_exit_condition_has_a_path_to_end() -> None:
    g = chain("a", "b")
    g.add_conditional_edge("b", "a", "score < 70")
    g.compile()


def test_node_without_outgoing_edges_ends_implicitly() -> None:
    g = Graph("g").add_node("a", step).add_node("b", step)
    g.add_edge("a", "b")  # b has no edges: it ends the branch
    g.compile()


def test_bad_expression_is_reported_with_edge_and_position() -> None:
    g = chain("a", "b")
    g.add_conditional_edge("a", "b", "score < 70 and __import__('os')")
    problems = problems_of(g)
    assert len(problems) == 1
    assert problems[0].startswith("edge a->b: invalid condition")
    assert "at column 16" in problems[0]
    assert "__import__" in problems[0]


def test_unknown_registered_condition_is_reported() -> None:
    g = chain("a", "b")
    g.add_conditional_edge("a", "b", "fn:no_such_condition")
    assert any("unknown condition 'no_such_condition'" in p for p in problems_of(g))


def test_unknown_tool_is_reported_with_close_matches() -> None:
    g = Graph("g").add_node("wait", tool="dealy")
    g.add_edge("wait", END)
    (problem,) = problems_of(g)
    assert "unknown tool 'dealy'" in problem and "'delay'" in problem


def test_unknown_reducer_is_reported_with_its_key() -> None:
    g = chain("a")
    g.add_reducer("items", "concatenate")
    assert any("reducer for data key 'items'" in p and "concatenate" in p for p in problems_of(g))


def test_compile_reports_every_problem_at_once() -> None:
    g = Graph("broken")
    g.add_node("a", step).add_node("a", step).add_node("b", step)
    g.add_node("orphan", step).add_node("spin", step)
    g.add_edge("a", "b")
    g.add_edge("b", "nowhere")
    g.add_conditional_edge("b", "spin", "x.__class__")
    g.add_edge("spin", "spin")
    g.add_edge("b", END)
    g.add_edge("orphan", END)
    problems = problems_of(g)
    text = "\n".join(problems)
    assert "duplicate node name 'a'" in text
    assert "unknown target node 'nowhere'" in text
    assert "edge b->spin: invalid condition 'x.__class__' at column 3" in text
    assert "node 'orphan' is unreachable" in text
    assert "node 'spin' has no path to END" in text
    assert len(problems) == 5


def test_validation_error_message_lists_every_problem() -> None:
    g = chain("a")
    g.add_edge("a", "x")
    g.add_edge("a", "y")
    with pytest.raises(GraphValidationError) as info:
        g.compile()
    assert info.value.graph == "chain"
    assert "2 problem(s)" in str(info.value)
    assert "'x'" in str(info.value) and "'y'" in str(info.value)


# --- parallel write conflicts at compile time ---------------------------------------------


def fan_out_graph(reducers: dict[str, Any] | None = None) -> Graph:
    g = Graph("fan", reducers=reducers)
    g.add_node("start", step)
    g.add_node("left", step, writes=["summary"])
    g.add_node("left2", step)
    g.add_node("right", step, writes=["summary"])
    g.add_node("join", step)
    g.add_edge("start", ["left", "right"])
    g.add_edge("left", "left2")
    g.add_join(["left2", "right"], "join")
    g.add_edge("join", END)
    return g


def test_parallel_branches_writing_same_key_without_reducer_fail_naming_both() -> None:
    (problem,) = problems_of(fan_out_graph())
    assert "'left'" in problem and "'right'" in problem
    assert "'summary'" in problem
    assert "fan-out from 'start'" in problem


def test_parallel_branches_writing_same_key_with_reducer_compile() -> None:
    fan_out_graph(reducers={"summary": "append"}).compile()


def test_parallel_write_conflict_is_found_deep_inside_a_branch() -> None:
    g = fan_out_graph()
    g.nodes["left"].writes = ()
    g.nodes["left2"].writes = ("summary",)
    (problem,) = problems_of(g)
    assert "'left2'" in problem and "'right'" in problem


def test_writes_after_the_join_are_not_parallel() -> None:
    g = fan_out_graph()
    g.nodes["left"].writes = ()
    g.nodes["join"].writes = ("summary",)
    g.compile()


def test_registered_tool_writes_are_used_for_conflict_detection() -> None:
    reg = ToolRegistry()
    reg.add_tool(step, name="writer", writes=("k",))
    g = Graph("g", registry=reg)
    g.add_node("s", step).add_node("x", tool="writer").add_node("y", tool="writer")
    g.add_edge("s", ["x", "y"])
    g.add_edge(["x", "y"], END)
    (problem,) = problems_of(g)
    assert "'k'" in problem and "'x'" in problem and "'y'" in problem


def test_set_tool_writes_are_its_configured_values() -> None:
    g = Graph("g")
    g.add_node("s", step)
    g.add_node("x", tool="set", config={"values": {"k": 1}})
    g.add_node("y", tool="set", config={"values": {"k": 2}})
    g.add_edge("s", ["x", "y"])
    (problem,) = problems_of(g)
    assert "'k'" in problem


# --- JSON -------------------------------------------------------------------------------


SEED_JSON: dict[str, Any] = {
    "name": "code_review_workflow",
    "description": "Analyzes Python code quality",
    "nodes": [
        {"name": "extract", "tool": "set", "config": {"values": {"functions": 2}}},
        {"name": "analyze", "tool": "delay"},
        {"name": "report", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [
        {"from": "extract", "to": "analyze"},
        {"from": "analyze", "to": "extract", "condition": "functions < 1"},
        {"from": "analyze", "to": "report"},
    ],
    "entry_point": "extract",
}


def test_seed_format_json_builds_a_graph() -> None:
    g = Graph.from_json(SEED_JSON)
    assert g.name == "code_review_workflow"
    assert list(g.nodes) == ["extract", "analyze", "report"]
    assert g.nodes["extract"].tool == "set"
    assert g.entry_point == "extract"
    assert [(e.source, e.target, e.condition) for e in g.edges] == [
        ("extract", "analyze", None),
        ("analyze", "extract", "functions < 1"),
        ("analyze", "report", None),
    ]
    g.compile()


def test_seed_format_json_round_trips() -> None:
    assert Graph.from_json(SEED_JSON).to_json() == SEED_JSON


def test_to_json_is_plain_json() -> None:
    g = Graph.from_json(SEED_JSON)
    assert json.loads(json.dumps(g.to_json())) == g.to_json()


def test_json_with_list_targets_expands_to_parallel_edges_and_joins() -> None:
    g = Graph.from_json({
        "name": "par",
        "nodes": [{"name": n, "tool": "delay"} for n in ("s", "a", "b", "j")],
        "edges": [{"from": "s", "to": ["a", "b"]}, {"from": ["a", "b"], "to": "j"}],
    })
    assert [(e.source, e.target) for e in g.edges] == [("s", "a"), ("s", "b"), ("a", "j"), ("b", "j")]
    assert g.compile().join_for(frozenset({"a", "b"})) == "j"


def full_graph() -> Graph:
    g = Graph("full", description="everything", reducers={"out": "append", "best": keep_longest},
              state_schema=Schema, max_steps=50)
    g.add_node("start", step, description="begins", config={"k": [1, 2]})
    g.add_node("left", sync_step, timeout=2.5, concurrency=3, writes=["out"],
               retry=RetryPolicy(max_attempts=4, initial_delay=0.5, backoff=3.0, max_delay=7.0,
                                 jitter=False, retry_on=(ValueError, GraphValidationError)))
    g.add_node("right", Holder.nested)
    g.add_node("join", tool="set", config={"values": {"joined": True}})
    g.add_node("work", step)
    g.add_node("fix", tool="delay", interrupt_before=True, interrupt_after=True)
    g.add_edge("start", ["left", "right"])
    g.add_join(["left", "right"], "join")
    g.add_map_edge("join", "work", over="items", item_key="it", max_concurrency=2)
    g.add_conditional_edge("work", "start", "len(out) < 3")
    g.add_conditional_edge("work", "fix", is_ready)
    g.add_conditional_edge("work", "fix", "fn:registered_cond")
    g.add_edge("work", END)
    g.add_error_edge("left", "fix")
    g.add_edge("fix", END)
    return g


def test_json_round_trip_keeps_parallel_map_join_and_per_node_options() -> None:
    data = full_graph().to_json()
    assert Graph.from_json(json.loads(json.dumps(data)), trusted=True).to_json() == data


def test_json_round_trip_rebuilds_per_node_options() -> None:
    g = Graph.from_json(full_graph().to_json(), trusted=True)
    left = g.nodes["left"]
    assert (left.fn, left.timeout, left.concurrency, left.writes, left.on_error) == (
        sync_step, 2.5, 3, ("out",), "fix")
    assert left.retry == RetryPolicy(max_attempts=4, initial_delay=0.5, backoff=3.0,
                                     max_delay=7.0, jitter=False,
                                     retry_on=(ValueError, GraphValidationError))
    assert g.nodes["right"].fn is Holder.nested
    assert g.nodes["start"].config == {"k": [1, 2]}
    assert g.nodes["start"].description == "begins"
    assert g.nodes["fix"].interrupt_before and g.nodes["fix"].interrupt_after


def test_json_round_trip_rebuilds_graph_options() -> None:
    g = Graph.from_json(full_graph().to_json(), trusted=True)
    assert g.description == "everything"
    assert g.state_schema is Schema
    assert g.max_steps == 50
    assert g.reducers == {"out": "append", "best": f"{__name__}:keep_longest"}


def test_json_round_trip_rebuilds_map_and_condition_edges() -> None:
    g = Graph.from_json(full_graph().to_json(), trusted=True)
    (m,) = [e for e in g.edges if e.map_over]
    assert (m.source, m.target, m.map_over, m.item_key, m.max_concurrency) == (
        "join", "work", "items", "it", 2)
    conds = [(e.target, e.condition, e.condition_fn) for e in g.edges if e.conditional]
    assert conds == [
        ("start", "len(out) < 3", None),
        ("fix", None, f"{__name__}:is_ready"),
        ("fix", None, "registered_cond"),
    ]


def test_callables_serialize_as_module_and_qualname() -> None:
    data = full_graph().to_json()
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["start"]["fn"] == f"{__name__}:step"
    assert nodes["right"]["fn"] == f"{__name__}:Holder.nested"
    assert data["state_schema"] == f"{__name__}:Schema"


def test_lambda_node_cannot_be_serialized_and_says_why() -> None:
    g = Graph("g").add_node("a", lambda state: {})
    with pytest.raises(GraphSerializationError, match="node 'a'.*no import path.*module-level"):
        g.to_json()


def test_nested_function_node_cannot_be_serialized() -> None:
    async def local(state: WorkflowState) -> None:
        return None

    g = Graph("g").add_node("a", local)
    with pytest.raises(GraphSerializationError, match="no import path"):
        g.to_json()


def test_lambda_condition_cannot_be_serialized_and_names_the_edge() -> None:
    g = chain("a", "b")
    g.add_conditional_edge("a", "b", lambda s: True)
    with pytest.raises(GraphSerializationError, match="condition of edge a->b"):
        g.to_json()


def test_lambda_reducer_cannot_be_serialized_and_names_the_key() -> None:
    g = chain("a")
    g.add_reducer("k", lambda old, new: new)
    with pytest.raises(GraphSerializationError, match="reducer of 'k'"):
        g.to_json()


def test_json_naming_a_function_that_does_not_import_fails_clearly() -> None:
    with pytest.raises(GraphSerializationError, match="node 'a': cannot import 'nope_module:fn'"):
        Graph.from_json({"name": "g", "nodes": [{"name": "a", "fn": "nope_module:fn"}]},
                        trusted=True)


def test_json_with_bad_shape_lists_every_field_problem() -> None:
    with pytest.raises(GraphValidationError) as info:
        Graph.from_json({"name": "g", "nodes": [{"tool": "x", "colour": "red"}],
                         "edges": [{"from": "a"}]})
    text = "\n".join(info.value.problems)
    assert "nodes.0.name" in text
    assert "nodes.0.colour" in text
    assert "edges.0.to" in text


def test_json_graph_with_invalid_structure_fails_at_compile() -> None:
    g = Graph.from_json({"name": "g", "nodes": [{"name": "a", "tool": "delay"}],
                         "edges": [{"from": "a", "to": "b"}]})
    assert any("unknown target node 'b'" in p for p in problems_of(g))


async def _nothing(state):  # type: ignore[no-untyped-def]
    return None


def test_compiled_joins_name_the_node_that_joins_each_fan_out() -> None:
    from runtime import END, Graph

    g = Graph("nested").add_node("s", _nothing)
    g.add_node("a", _nothing).add_node("b", _nothing).add_node("a1", _nothing)
    g.add_node("a2", _nothing).add_node("j", _nothing).add_node("k", _nothing)
    g.add_edge("s", ["a", "b"]).add_edge("a", ["a1", "a2"])
    g.add_edge(["a1", "a2"], "k").add_edge("k", "j").add_edge("b", "j").add_edge("j", END)
    assert g.compile().joins == {"s": "j", "a": "k"}


def test_a_fan_out_whose_branches_only_meet_at_end_has_no_join() -> None:
    from runtime import END, Graph

    g = Graph("ends").add_node("s", _nothing).add_node("a", _nothing).add_node("b", _nothing)
    g.add_edge("s", ["a", "b"]).add_edge("a", END).add_edge("b", END)
    assert g.compile().joins == {}


def test_json_is_untrusted_by_default_every_import_path_is_listed_and_none_imported() -> None:
    import sys

    data = {"name": "g", "state_schema": "zz_never_imported:S",
            "nodes": [{"name": "a", "fn": "zz_never_imported:f",
                       "retry": {"retry_on": ["zz_never_imported:E", "KeyError"]}}]}
    with pytest.raises(GraphValidationError) as info:
        Graph.from_json(data)
    assert [p.split(":")[0] for p in info.value.problems] == [
        "state_schema 'zz_never_imported", "node 'a'", "node 'a'"]
    assert "zz_never_imported" not in sys.modules
    with pytest.raises(GraphSerializationError, match="No module named 'zz_never_imported'"):
        Graph.from_json(data, trusted=True)  # trusted: imported (and here, missing)


def test_retry_on_names_registered_exceptions_and_writes_them_back_by_name() -> None:
    from runtime import ToolRegistry

    class Quota(Exception):
        pass

    reg = ToolRegistry()
    reg.exception(Quota)
    g = Graph.from_json({"name": "g", "nodes": [
        {"name": "a", "tool": "x", "retry": {"retry_on": ["Quota", "OSError"]}}]}, registry=reg)
    retry = g.nodes["a"].retry
    assert retry is not None and retry.retry_on == (Quota, OSError)
    assert g.to_json()["nodes"][0]["retry"]["retry_on"] == ["Quota", "OSError"]


@pytest.mark.parametrize("graph_name,node_name", [("g\x00", "a"), ("g", "a\ud800")])
def test_names_no_store_keeps_are_compile_problems(graph_name: str, node_name: str) -> None:
    g = Graph(graph_name)
    g.add_node(node_name, tool="delay")
    with pytest.raises(GraphValidationError) as info:
        g.compile()
    assert any("name" in p and ("NUL" in p or "surrogate" in p) for p in info.value.problems)
