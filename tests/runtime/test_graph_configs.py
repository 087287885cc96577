"""A node's config against its tool's ``config_schema``: checked where a definition
comes in untrusted (``Graph.from_json``), never where a stored one is read back
(trusted JSON) nor in ``compile()`` (which also compiles stored graphs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators

import nodes  # noqa: F401 - registers the shipped tools
from runtime import Graph, GraphValidationError, ToolRegistry, registry
from runtime.config_check import config_problems
from runtime.definition import GraphDef
from runtime.graph import check_configs

ROOT = Path(__file__).resolve().parents[2]


def _graph(config: dict[str, Any], tool: str = "delay") -> dict[str, Any]:
    return {"name": "g", "nodes": [{"name": "wait", "tool": tool, "config": config}]}


def test_untrusted_json_whose_config_breaks_the_schema_is_refused_naming_node_and_field() -> None:
    with pytest.raises(GraphValidationError) as info:
        Graph.from_json(_graph({"seconds": -5, "sekonds": 3}))
    assert info.value.problems == [
        "node 'wait': config.seconds: -5 is less than the minimum of 0"]


def test_trusted_json_is_read_as_it_is_and_compiles() -> None:
    # a store's definitions, a run's own: their runs load and resume whatever the schema
    compiled = Graph.from_json(_graph({"seconds": "0"}), trusted=True).compile()
    assert compiled.nodes["wait"].config == {"seconds": "0"}


def test_compile_does_not_check_a_python_built_graphs_configs() -> None:
    g = Graph("py")
    g.add_node("wait", tool="delay", config={"seconds": "0"})
    assert g.compile().nodes["wait"].config == {"seconds": "0"}
    assert check_configs(g.to_json()) == [
        "node 'wait': config.seconds: \"0\" is a string, not a number"]


def test_unknown_keys_are_reported_only_when_the_schema_forbids_them() -> None:
    reg = ToolRegistry()

    async def strict(state: Any, config: dict[str, Any]) -> None:
        return None

    reg.add_tool(strict, name="strict", config_schema={
        "type": "object", "additionalProperties": False, "required": ["count"],
        "properties": {"count": {"type": "integer", "minimum": 1, "description": "how many"},
                       "mode": {"enum": ["fast", "slow"]}}})
    d = GraphDef.model_validate(_graph({"cuont": 2, "mode": "quick"}, tool="strict"))
    assert config_problems(d, reg) == [
        "node 'wait': config.count: is required and missing (an integer: how many)",
        "node 'wait': config.cuont: unknown key (tool 'strict' takes count, mode); "
        "did you mean 'count'?",
        "node 'wait': config.mode: 'quick' is not one of ['fast', 'slow']"]


def test_a_tool_with_a_broken_schema_is_one_problem_not_a_crash() -> None:
    reg = ToolRegistry()

    async def odd(state: Any, config: dict[str, Any]) -> None:
        return None

    reg.add_tool(odd, name="odd", config_schema={"type": "objekt"})
    [problem] = config_problems(GraphDef.model_validate(_graph({}, tool="odd")), reg)
    assert problem.startswith("node 'wait': tool 'odd' publishes a config_schema that is "
                              "not a valid JSON Schema")


def test_every_registered_tools_schema_is_a_valid_json_schema() -> None:
    for info in registry.list():
        if info.config_schema is not None:
            cls = validators.validator_for(info.config_schema, default=Draft202012Validator)
            cls.check_schema(info.config_schema)


def _shipped_definitions() -> list[tuple[str, dict[str, Any]]]:
    from nodes.workflows import code_review, financial_analysis, summarization

    found = [(f"nodes/examples/graphs/{p.name}", json.loads(p.read_text()))
             for p in sorted((ROOT / "nodes/examples/graphs").glob("*.json"))]
    found += [("code_review", code_review.code_review_json()),
              ("summarization", summarization.summarization_json()),
              ("financial_analysis", financial_analysis.financial_analysis_json())]
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```json\n")[1:]
    for i, block in enumerate(blocks):
        text = block.split("```", 1)[0]
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("nodes"), list):
            found.append((f"README json block {i}", data))
    return found


@pytest.mark.parametrize(("where", "definition"), _shipped_definitions(),
                         ids=[w for w, _ in _shipped_definitions()])
def test_every_shipped_graph_keeps_to_its_tools_schemas(where: str,
                                                         definition: dict[str, Any]) -> None:
    assert check_configs(definition) == [], where
