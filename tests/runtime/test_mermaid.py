"""``Graph.to_mermaid()``: a flowchart with parallel branches, conditions, maps, error edges."""

from __future__ import annotations

import re
from typing import Any

from runtime import END, Graph, WorkflowState


async def step(state: WorkflowState) -> dict[str, Any]:
    return {}


def is_ready(state: WorkflowState) -> bool:
    return True


def arrows(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if any(a in line for a in ("-->", "-.->", "==>"))]


def test_mermaid_is_a_top_down_flowchart_with_start_and_end() -> None:
    g = Graph("g").add_node("a", step).add_edge("a", END)
    lines = g.to_mermaid().splitlines()
    assert lines[0] == "flowchart TD"
    assert "__start__([start])" in lines[1]
    assert "__end__([end])" in lines[2]


def test_mermaid_draws_entry_and_sequential_edges() -> None:
    g = Graph("g").add_node("a", step).add_node("b", step)
    g.add_edge("a", "b").add_edge("b", END)
    assert arrows(g.to_mermaid()) == ["__start__ --> n_a", "n_a --> n_b", "n_b --> __end__"]


def test_mermaid_labels_nodes_with_function_or_tool() -> None:
    g = Graph("g").add_node("a", step).add_node("w", tool="delay")
    g.add_edge("a", "w")
    text = g.to_mermaid()
    assert 'n_a["a<br/><small>step</small>"]' in text
    assert 'n_w["w<br/><small>tool: delay</small>"]' in text


def test_mermaid_draws_parallel_branches_and_their_join() -> None:
    g = Graph("g")
    for n in ("s", "x", "y", "j"):
        g.add_node(n, step)
    g.add_edge("s", ["x", "y"]).add_join(["x", "y"], "j").add_edge("j", END)
    edges = arrows(g.to_mermaid())
    assert {"n_s --> n_x", "n_s --> n_y", "n_x --> n_j", "n_y --> n_j"} <= set(edges)


def test_mermaid_labels_conditions_and_marks_the_default_path() -> None:
    g = Graph("g").add_node("a", step).add_node("b", step)
    g.add_edge("a", "b")
    g.add_conditional_edge("b", "a", "score < threshold")
    g.add_conditional_edge("b", "a", is_ready)
    g.add_edge("b", END)
    edges = arrows(g.to_mermaid())
    assert 'n_b -->|"score #lt; threshold"| n_a' in edges   # Mermaid's entity for "<"
    assert 'n_b -->|"fn:is_ready"| n_a' in edges
    assert 'n_b -.->|"otherwise"| __end__' in edges


def test_mermaid_escapes_quotes_and_pipes_in_conditions() -> None:
    g = Graph("g").add_node("a", step).add_node("b", step)
    g.add_conditional_edge("a", "b", 'kind == "x" or kind == "|"')
    text = g.to_mermaid()
    (label,) = re.findall(r'\|"(.*)"\|', text)
    assert '"' not in label and "|" not in label
    assert "#quot;x#quot;" in label and "#124;" in label


def test_mermaid_labels_are_text_never_markup() -> None:
    # Whatever renders the chart as HTML shows these names, it does not run them.
    g = Graph("g").add_node("<img src=x onerror=alert(1)>", step).add_node("b&c", step)
    g.add_edge("<img src=x onerror=alert(1)>", "b&c")
    text = g.to_mermaid()
    assert "<img" not in text and "b&c" not in text
    assert "#lt;img src=x onerror=alert(1)#gt;" in text and "b#amp;c" in text


def test_mermaid_marks_map_edges_with_list_and_limit() -> None:
    g = Graph("g").add_node("split", step).add_node("work", step)
    g.add_map_edge("split", "work", over="files", max_concurrency=4)
    assert 'n_split ==>|"map over files, max 4"| n_work' in arrows(g.to_mermaid())


def test_mermaid_draws_error_edges() -> None:
    g = Graph("g").add_node("a", step).add_node("fix", step)
    g.add_edge("a", END).add_error_edge("a", "fix")
    assert 'n_a -.->|"on error"| n_fix' in arrows(g.to_mermaid())


def test_mermaid_ends_nodes_without_outgoing_edges() -> None:
    g = Graph("g").add_node("a", step).add_node("b", step).add_edge("a", "b")
    assert "n_b --> __end__" in arrows(g.to_mermaid())


def test_mermaid_keeps_nodes_whose_names_differ_only_in_punctuation_apart() -> None:
    g = Graph("g")
    for n in ("a-b", "a_b", "a b"):
        g.add_node(n, step)
    g.add_edge("a-b", ["a_b", "a b"])
    ids = re.findall(r"^\s+(n_\S+)\[", g.to_mermaid(), flags=re.MULTILINE)
    assert len(ids) == 3 and len(set(ids)) == 3


def test_compiled_graph_draws_the_same_mermaid() -> None:
    g = Graph("g").add_node("a", step).add_edge("a", END)
    assert g.compile().to_mermaid() == g.to_mermaid()


async def _noop(state):  # type: ignore[no-untyped-def]
    return None


def test_a_compiled_graph_marks_each_join_with_the_fan_out_it_waits_for() -> None:
    from runtime import END, Graph

    g = Graph("joins").add_node("s", _noop)
    for b in ("a", "b"):
        g.add_node(b, _noop).add_edge("s", b).add_edge(b, "j")
    g.add_node("j", _noop).add_edge("j", END)
    text = g.compile().to_mermaid()
    assert 'n_j[["j<br/><small>_noop</small><br/><small>joins the branches of s</small>"]]' in text
    assert 'n_a["a' in text  # ordinary nodes keep the plain box
