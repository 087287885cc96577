"""Run state: the seed's fields, how node updates merge (reducers), schema validation."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from runtime import (
    END,
    REDUCERS,
    Graph,
    RunFailed,
    Runtime,
    StateError,
    StateValidationError,
    ToolRegistry,
    WorkflowState,
)
from runtime.state import StateUpdate, resolve_reducer

Node = Callable[[WorkflowState], Any]


async def run_graph(graph: Graph, data: dict[str, Any] | None = None) -> WorkflowState:
    async with Runtime() as rt:
        run = await rt.start(graph.compile(), data)
        return await run.result()


def returning(value: Any) -> Node:
    async def node(state: WorkflowState) -> Any:
        return value

    return node


def chain_of(*nodes: Node, **graph_kw: Any) -> Graph:
    g = Graph("state", **graph_kw)
    names = [f"n{i}" for i in range(len(nodes))]
    for name, fn in zip(names, nodes, strict=True):
        g.add_node(name, fn)
    for a, b in itertools.pairwise(names):
        g.add_edge(a, b)
    g.add_edge(names[-1], END)
    return g


def failure_cause(info: pytest.ExceptionInfo[RunFailed]) -> BaseException | None:
    return info.value.__cause__


# --- the state model -------------------------------------------------------------------


def test_workflow_state_has_the_seed_fields() -> None:
    s = WorkflowState(workflow_id="wf", run_id="r1")
    assert (s.workflow_id, s.run_id, s.iteration, s.data, s.errors, s.warnings, s.config) == (
        "wf", "r1", 0, {}, [], [], {})
    assert s.timestamp.tzinfo is not None


async def test_input_becomes_data_and_run_ids_are_filled_in() -> None:
    seen: list[WorkflowState] = []

    async def look(state: WorkflowState) -> None:
        seen.append(state)

    async with Runtime() as rt:
        run = await rt.start(chain_of(look).compile(), {"code": "x"}, config={"llm": False})
        await run.result()
    (s,) = seen
    assert s.data == {"code": "x"}
    assert s.run_id == run.id
    assert s.workflow_id == "state"
    assert s.config == {"llm": False}


# --- updates ------------------------------------------------------------------------------


async def test_dict_update_replaces_keys_by_default_and_keeps_the_others() -> None:
    final = await run_graph(chain_of(returning({"a": 2})), {"a": 1, "b": 1})
    assert final.data == {"a": 2, "b": 1}


async def test_none_update_changes_nothing() -> None:
    final = await run_graph(chain_of(returning(None)), {"a": 1})
    assert final.data == {"a": 1}


async def test_whole_state_return_applies_its_differences() -> None:
    async def node(state: WorkflowState) -> WorkflowState:
        new = state.model_copy(deep=True)
        new.data["added"] = True
        new.data["a"] = 10
        new.errors.append("something went wrong")
        new.warnings.append("careful")
        return new

    final = await run_graph(chain_of(node), {"a": 1, "b": 1})
    assert final.data == {"a": 10, "b": 1, "added": True}
    assert final.errors == ["something went wrong"]
    assert final.warnings == ["careful"]


async def test_whole_state_return_goes_through_reducers() -> None:
    async def node(state: WorkflowState) -> WorkflowState:
        new = state.model_copy(deep=True)
        new.data["items"] = ["b"]
        return new

    final = await run_graph(chain_of(node, reducers={"items": "append"}), {"items": ["a"]})
    assert final.data["items"] == ["a", "b"]


async def test_a_node_mutating_its_input_cannot_change_the_run_state() -> None:
    async def sneaky(state: WorkflowState) -> None:
        state.data["sneaky"] = True

    final = await run_graph(chain_of(sneaky))
    assert "sneaky" not in final.data


async def test_iteration_counts_completed_steps() -> None:
    final = await run_graph(chain_of(returning({}), returning({}), returning({})))
    assert final.iteration == 3


async def test_returning_something_else_fails_the_run_naming_the_node() -> None:
    with pytest.raises(RunFailed) as info:
        await run_graph(chain_of(returning([1, 2])))
    cause = failure_cause(info)
    assert isinstance(cause, StateError)
    assert "node 'n0' returned list" in str(cause)
    assert info.value.node == "n0"


async def test_non_string_data_keys_are_rejected() -> None:
    with pytest.raises(RunFailed) as info:
        await run_graph(chain_of(returning({1: "x"})))
    assert "non-string data keys [1]" in str(failure_cause(info))


def test_state_update_from_whole_state_ignores_unchanged_values() -> None:
    before = WorkflowState(workflow_id="w", run_id="r", data={"a": [1], "b": 2})
    after = before.model_copy(update={"data": {"a": [1], "b": 3}})
    update = StateUpdate.from_result(after, before, "n")
    assert update.data == {"b": 3}


# --- reducers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reducer", "old", "new", "merged"),
    [
        ("replace", [1], [2], [2]),
        ("append", [1], [2, 3], [1, 2, 3]),
        ("append", [1], "x", [1, "x"]),
        ("append", None, "x", ["x"]),
        ("add", 1, 2, 3),
        ("add", None, 5, 5),
        ("add", [1], [2], [1, 2]),
        ("merge", {"a": 1, "b": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ("merge", None, {"a": 1}, {"a": 1}),
    ],
)
def test_builtin_reducer_merges(reducer: str, old: Any, new: Any, merged: Any) -> None:
    assert REDUCERS[reducer](old, new) == merged


def test_append_reducer_does_not_mutate_the_old_list() -> None:
    old = [1]
    REDUCERS["append"](old, [2])
    assert old == [1]


def test_merge_reducer_rejects_non_dicts() -> None:
    with pytest.raises(TypeError, match="merge reducer needs dicts"):
        REDUCERS["merge"]({"a": 1}, [1])


def test_unknown_reducer_name_says_what_exists() -> None:
    with pytest.raises(Exception, match="unknown reducer 'nope'.*'append'"):
        resolve_reducer("nope")


@pytest.mark.parametrize("reducer", ["append", "add", "merge", "replace"])
async def test_reducer_applies_to_node_updates(reducer: str) -> None:
    start = {"append": ["a"], "add": 1, "merge": {"x": 1}, "replace": "old"}[reducer]
    update = {"append": ["b"], "add": 2, "merge": {"y": 2}, "replace": "new"}[reducer]
    expected = {"append": ["a", "b"], "add": 3, "merge": {"x": 1, "y": 2},
                "replace": "new"}[reducer]
    final = await run_graph(chain_of(returning({"k": update}), reducers={"k": reducer}),
                            {"k": start})
    assert final.data["k"] == expected


async def test_custom_callable_reducer_applies_to_node_updates() -> None:
    def keep_max(old: Any, new: Any) -> Any:
        return new if old is None else max(old, new)

    g = chain_of(returning({"best": 7}), returning({"best": 3}), reducers={"best": keep_max})
    assert (await run_graph(g)).data["best"] == 7


async def test_registered_reducer_applies_by_name() -> None:
    reg = ToolRegistry()

    @reg.reducer()
    def longest(old: Any, new: Any) -> Any:
        return new if old is None or len(new) > len(old) else old

    g = chain_of(returning({"s": "long one"}), returning({"s": "short"}),
                 reducers={"s": "longest"}, registry=reg)
    assert (await run_graph(g)).data["s"] == "long one"


async def test_reducer_over_a_run_accumulates_every_update() -> None:
    g = chain_of(returning({"log": "a"}), returning({"log": "b"}), returning({"log": "c"}),
                 reducers={"log": "append"})
    assert (await run_graph(g)).data["log"] == ["a", "b", "c"]


async def test_failing_reducer_fails_the_run_naming_node_and_key() -> None:
    g = chain_of(returning({"m": [1]}), reducers={"m": "merge"})
    with pytest.raises(RunFailed) as info:
        await run_graph(g, {"m": {"a": 1}})
    cause = failure_cause(info)
    assert isinstance(cause, StateError)
    assert "node 'n0': reducer for data key 'm' failed" in str(cause)


# --- schema validation ------------------------------------------------------------------------


class Review(BaseModel):
    score: int


class ReviewState(BaseModel):
    code: str = ""
    review: Review | None = None


async def test_valid_writes_pass_the_schema() -> None:
    g = chain_of(returning({"review": {"score": 80}}), state_schema=ReviewState)
    assert (await run_graph(g, {"code": "x"})).data["review"] == {"score": 80}


async def test_invalid_write_fails_naming_node_and_field_path() -> None:
    g = chain_of(returning({}), returning({"review": {"score": "high"}}),
                 state_schema=ReviewState)
    with pytest.raises(RunFailed) as info:
        await run_graph(g)
    cause = failure_cause(info)
    assert isinstance(cause, StateValidationError)
    assert cause.node == "n1"
    assert cause.path == "review.score"
    assert "node 'n1' wrote invalid state at data.review.score" in str(cause)
    assert info.value.node == "n1"


async def test_schema_is_checked_on_every_write_not_only_at_the_end() -> None:
    g = chain_of(returning({"code": 5}), returning({"code": "fixed"}), state_schema=ReviewState)
    with pytest.raises(RunFailed) as info:
        await run_graph(g)
    cause = failure_cause(info)
    assert isinstance(cause, StateValidationError)
    assert (cause.node, cause.path) == ("n0", "code")


# --- the one rule for stored values (runtime.portable) -----------------------------------


@pytest.mark.parametrize("value,words", [
    ({"x": float("nan")}, "data.x: it cannot be stored as JSON"),
    ({"x": ["ok", {"y": "a\x00b"}]}, "data.x.1.y: it contains a NUL character"),
    ({"x": "\ud800"}, "data.x: it contains a lone surrogate (\\ud800)"),
    ({"bad\x00key": 1}, "a data key: it contains a NUL character"),
])
async def test_a_durable_run_refuses_values_a_store_would_not_keep_naming_the_path(
        tmp_path: Any, value: dict[str, Any], words: str) -> None:
    # Before: NaN came back as null from SQLite and NUL or a surrogate was stored there,
    # while PostgreSQL refused all three with its own internals in the error.
    async with Runtime(f"sqlite:///{tmp_path / 'rule.db'}") as rt:
        run = await rt.start(chain_of(returning(value)).compile())
        with pytest.raises(RunFailed) as info:
            await run.result()
    cause = failure_cause(info)
    assert isinstance(cause, StateValidationError)
    assert f"node 'n0' wrote {words}" in str(cause)


async def test_a_memory_run_keeps_any_python_value() -> None:
    # Nothing is stored, so nothing is refused: the rule is about what stores keep.
    assert (await run_graph(chain_of(returning({"x": float("inf")})))).data["x"] == float("inf")
