"""The tool registry: decorator, metadata, discovery, suggestions, config, built-ins."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime import (
    END,
    Graph,
    NodeContext,
    RunFailed,
    Runtime,
    ToolInfo,
    ToolNotFoundError,
    ToolRegistry,
    WorkflowState,
    builtin_tools,
    registry,
)


async def run_graph(graph: Graph, data: dict[str, Any] | None = None) -> WorkflowState:
    async with Runtime() as rt:
        run = await rt.start(graph.compile(), data)
        return await run.result()


def one_node(reg: ToolRegistry, tool: str, config: dict[str, Any] | None = None) -> Graph:
    g = Graph("g", registry=reg)
    g.add_node("n", tool=tool, config=config)
    g.add_edge("n", END)
    return g


def state(**data: Any) -> WorkflowState:
    return WorkflowState(workflow_id="w", run_id="r", data=data)


# --- registering and metadata ------------------------------------------------------------


def test_tool_decorator_registers_under_the_given_name_and_returns_the_function() -> None:
    reg = ToolRegistry()

    async def extract(state: WorkflowState) -> None: ...

    assert reg.tool(name="extract_functions", description="Extract")(extract) is extract
    assert reg.get("extract_functions").fn is extract


def test_tool_name_defaults_to_the_function_name() -> None:
    reg = ToolRegistry()

    @reg.tool()
    async def summarize(state: WorkflowState) -> None: ...

    assert "summarize" in reg


def test_tool_metadata_has_description_parameters_docstring_and_kind() -> None:
    reg = ToolRegistry()

    @reg.tool(name="score", description="Score the code")
    def score(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        """Compute a quality score.

        Longer explanation."""
        return {}

    info = reg.get("score")
    assert isinstance(info, ToolInfo)
    assert info.description == "Score the code"
    assert info.parameters == ["state", "config"]
    assert info.doc is not None and info.doc.startswith("Compute a quality score.")
    assert info.is_async is False


def test_async_tools_are_marked_async() -> None:
    reg = ToolRegistry()

    @reg.tool()
    async def fetch(state: WorkflowState) -> None: ...

    assert reg.get("fetch").is_async is True


def test_description_defaults_to_the_docstrings_first_line() -> None:
    reg = ToolRegistry()

    @reg.tool()
    async def fetch(state: WorkflowState) -> None:
        """Fetch the thing.

        Details."""

    assert reg.get("fetch").description == "Fetch the thing."


def test_tool_info_to_dict_is_json_ready_and_omits_the_function() -> None:
    reg = ToolRegistry()
    reg.add_tool(builtin_tools.delay, name="wait", writes=("x",))
    d = reg.get("wait").to_dict()
    assert d["name"] == "wait" and d["writes"] == ["x"] and d["is_async"] is True
    assert "fn" not in d


def test_registering_another_function_under_a_taken_name_fails() -> None:
    reg = ToolRegistry()
    reg.add_tool(builtin_tools.delay, name="t")
    with pytest.raises(ValueError, match="'t' is already registered.*replace=True"):
        reg.add_tool(builtin_tools.fail, name="t")


def test_replace_true_overrides_a_registered_tool() -> None:
    reg = ToolRegistry()
    reg.add_tool(builtin_tools.delay, name="t")
    reg.add_tool(builtin_tools.fail, name="t", replace=True)
    assert reg.get("t").fn is builtin_tools.fail


def test_list_returns_every_tool_sorted_by_name() -> None:
    reg = ToolRegistry()
    for name in ("zeta", "alpha", "mid"):
        reg.add_tool(builtin_tools.delay, name=name)
    assert [t.name for t in reg.list()] == ["alpha", "mid", "zeta"]


def test_default_registry_lists_the_builtin_tools() -> None:
    names = {t.name for t in registry.list()}
    assert {"delay", "set", "fail"} <= names


# --- lookups -----------------------------------------------------------------------------


def test_unknown_tool_suggests_close_matches() -> None:
    reg = ToolRegistry()
    reg.add_tool(builtin_tools.delay, name="extract_functions")
    with pytest.raises(ToolNotFoundError) as info:
        reg.get("extract_function")
    assert info.value.suggestions == ["extract_functions"]
    assert "did you mean 'extract_functions'?" in str(info.value)


def test_unknown_tool_without_close_match_says_how_to_register() -> None:
    with pytest.raises(ToolNotFoundError, match=r"register one with @registry.tool\(\)"):
        ToolRegistry().get("anything")


def test_unknown_tool_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        ToolRegistry().get("anything")


def test_unknown_condition_suggests_close_matches() -> None:
    reg = ToolRegistry()

    @reg.condition()
    def needs_review(state: WorkflowState) -> bool:
        return True

    with pytest.raises(ToolNotFoundError, match="unknown condition 'need_review'.*'needs_review'"):
        reg.get_condition("need_review")


def test_registered_condition_is_found_by_name() -> None:
    reg = ToolRegistry()

    @reg.condition(name="ok")
    def always(state: WorkflowState) -> bool:
        return True

    assert reg.get_condition("ok") is always
    assert reg.conditions() == ["ok"]


def test_registered_reducer_is_listed_by_name() -> None:
    reg = ToolRegistry()

    @reg.reducer()
    def longest(old: Any, new: Any) -> Any:
        return new

    assert reg.reducers == {"longest": longest}


# --- tools in runs ------------------------------------------------------------------------


async def test_node_config_reaches_a_tool_taking_config() -> None:
    reg = ToolRegistry()

    @reg.tool()
    async def echo(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        return {"seen": config}

    final = await run_graph(one_node(reg, "echo", {"depth": 3}))
    assert final.data["seen"] == {"depth": 3}


async def test_node_config_reaches_a_tool_through_its_context() -> None:
    reg = ToolRegistry()

    @reg.tool()
    async def echo(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
        return {"seen": ctx.config, "node": ctx.node, "attempt": ctx.attempt}

    final = await run_graph(one_node(reg, "echo", {"depth": 3}))
    assert final.data == {"seen": {"depth": 3}, "node": "n", "attempt": 1}


async def test_node_config_from_json_reaches_a_sync_tool() -> None:
    reg = ToolRegistry()

    @reg.tool()
    def echo(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
        return {"seen": config["greeting"]}

    g = Graph.from_json({"name": "g", "nodes": [
        {"name": "n", "tool": "echo", "config": {"greeting": "hello"}}]}, registry=reg)
    assert (await run_graph(g)).data["seen"] == "hello"


async def test_registered_condition_routes_a_run() -> None:
    reg = ToolRegistry()
    reg.add_tool(builtin_tools.set_values, name="set")

    @reg.condition()
    def flagged(state: WorkflowState) -> bool:
        return bool(state.data.get("flag"))

    g = Graph("g", registry=reg)
    g.add_node("a", tool="set", config={"values": {"flag": True}})
    g.add_node("b", tool="set", config={"values": {"went": "b"}})
    g.add_node("c", tool="set", config={"values": {"went": "c"}})
    g.add_conditional_edge("a", "b", "fn:flagged")
    g.add_edge("a", "c")
    assert (await run_graph(g)).data["went"] == "b"


# --- built-in tools -------------------------------------------------------------------------


async def test_builtin_set_writes_config_values_into_data() -> None:
    final = await run_graph(one_node(registry, "set", {"values": {"a": 1, "b": [2]}}), {"c": 3})
    assert final.data == {"a": 1, "b": [2], "c": 3}


async def test_builtin_set_rejects_values_that_are_not_an_object() -> None:
    with pytest.raises(TypeError, match="config.values must be an object"):
        await builtin_tools.set_values(state(), {"values": [1, 2]})


async def test_builtin_delay_awaits_config_seconds() -> None:
    with anyio.move_on_after(0.01) as scope:
        await builtin_tools.delay(state(), {"seconds": 3600})
    assert scope.cancelled_caught


async def test_builtin_delay_of_zero_seconds_returns_nothing() -> None:
    with anyio.fail_after(5):
        assert await builtin_tools.delay(state(), {"seconds": 0}) is None


async def test_builtin_fail_raises_the_configured_builtin_error() -> None:
    with pytest.raises(KeyError, match="boom"):
        await builtin_tools.fail(state(), {"error": "KeyError", "message": "boom"})


async def test_builtin_fail_raises_injected_fault_for_unknown_error_names() -> None:
    with pytest.raises(builtin_tools.InjectedFault, match="injected failure"):
        await builtin_tools.fail(state(), {"error": "NotAnError"})


async def test_builtin_fail_with_probability_fails_only_when_the_draw_is_below_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builtin_tools.random, "random", lambda: 0.5)
    assert await builtin_tools.fail(state(), {"probability": 0.3}) is None
    with pytest.raises(RuntimeError):
        await builtin_tools.fail(state(), {"probability": 0.7})


async def test_builtin_fail_fails_a_run_with_the_error_as_cause() -> None:
    with pytest.raises(RunFailed) as info:
        await run_graph(one_node(registry, "fail", {"error": "ValueError", "message": "bad"}))
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.node == "n"
