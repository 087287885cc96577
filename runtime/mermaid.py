"""Render a graph as a Mermaid flowchart."""

from __future__ import annotations

import re

from .specs import END, EdgeSpec, GraphSpec, NodeSpec

__all__ = ["render"]


def _id(name: str) -> str:
    # Injective, so "a-b" and "a_b" stay two nodes: "_" doubles, others become _hex_.
    return "n_" + re.sub(
        r"\W|_", lambda m: "__" if m.group() == "_" else f"_{ord(m.group()):x}_", name)


def _label(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")


def render(graph: GraphSpec, joins: dict[str, str] | None = None) -> str:
    """Solid arrows: always taken (several from one node run in parallel);
    labelled arrows: conditions (dotted: the default path when none holds);
    thick arrows: map over a list; red dotted arrows: error handlers.
    ``joins`` (fan-out node -> join node, from a compiled graph) draws each join as a
    double-edged box that says which fan-out it waits for."""
    joined_by: dict[str, list[str]] = {}
    for fanout, join in (joins or {}).items():
        joined_by.setdefault(join, []).append(fanout)
    lines = ["flowchart TD", "    __start__([start])", "    __end__([end])"]
    lines += [_node_line(spec, joined_by.get(spec.name)) for spec in graph.nodes.values()]
    if graph.entry_point:
        lines.append(f"    __start__ --> {_id(graph.entry_point)}")
    has_conditions = {e.source for e in graph.edges if e.conditional}
    lines += [_edge_line(e, e.source in has_conditions) for e in graph.edges]
    for spec in graph.nodes.values():
        if not any(e.source == spec.name for e in graph.edges):
            lines.append(f"    {_id(spec.name)} --> __end__")
        if spec.on_error:
            lines.append(f'    {_id(spec.name)} -.->|"on error"| {_id(spec.on_error)}')
    return "\n".join(lines) + "\n"


def _node_line(spec: NodeSpec, joins_of: list[str] | None) -> str:
    kind = f"tool: {spec.tool}" if spec.fn is None else getattr(spec.fn, "__name__", "fn")
    label = f"{_label(spec.name)}<br/><small>{_label(kind)}</small>"
    if joins_of:
        waits = ", ".join(sorted(joins_of))
        return (f'    {_id(spec.name)}[["{label}<br/><small>joins the branches of '
                f'{_label(waits)}</small>"]]')
    return f'    {_id(spec.name)}["{label}"]'


def _edge_line(e: EdgeSpec, source_has_conditions: bool) -> str:
    dst = "__end__" if e.target == END else _id(e.target)
    src = _id(e.source)
    if e.map_over is not None:
        limit = f", max {e.max_concurrency}" if e.max_concurrency else ""
        return f'    {src} ==>|"map over {_label(e.map_over)}{limit}"| {dst}'
    if e.conditional:
        cond = e.condition or f"fn:{getattr(e.condition_fn, '__name__', e.condition_fn)}"
        return f'    {src} -->|"{_label(cond)}"| {dst}'
    if source_has_conditions:
        return f'    {src} -.->|"otherwise"| {dst}'
    return f"    {src} --> {dst}"
