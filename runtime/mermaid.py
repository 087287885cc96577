"""Render a graph as a Mermaid flowchart."""

from __future__ import annotations

import re
from .specs import END, GraphSpec

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
    for spec in graph.nodes.values():
        kind = f"tool: {spec.tool}" if spec.fn is None else getattr(spec.fn, "__name__", "fn")
        label = f"{_label(spec.name)}<br/><small>{_label(kind)}</small>"
        if spec.name in joined_by:
            waits = ", ".join(sorted(joined_by[spec.name]))
            lines.append(f'    {_id(spec.name)}[["{label}<br/><small>joins the branches of '
                         f'{_label(waits)}</small>"]]')
        else:
            lines.append(f'    {_id(spec.name)}["{label}"]')
    if graph.entry_point:
        lines.append(f"    __start__ --> {_id(graph.entry_point)}")
    has_conditions = {e.source for e in graph.edges if e.conditional}
    targets: dict[str, int] = {}
    for e in graph.edges:
        targets[e.source] = targets.get(e.source, 0) + 1
    for e in graph.edges:
        dst = "__end__" if e.target == END else _id(e.target)
        src = _id(e.source)
        if e.map_over is not None:
            limit = f", max {e.max_concurrency}" if e.max_concurrency else ""
            lines.append(f'    {src} ==>|"map over {_label(e.map_over)}{limit}"| {dst}')
        elif e.conditional:
            cond = e.condition or f"fn:{getattr(e.condition_fn, '__name__', e.condition_fn)}"
            lines.append(f'    {src} -->|"{_label(cond)}"| {dst}')
        elif e.source in has_conditions:
            lines.append(f'    {src} -.->|"otherwise"| {dst}')
        else:
            lines.append(f"    {src} --> {dst}")
    for spec in graph.nodes.values():
        if not any(e.source == spec.name for e in graph.edges):
            lines.append(f"    {_id(spec.name)} --> __end__")
        if spec.on_error:
            lines.append(f'    {_id(spec.name)} -.->|"on error"| {_id(spec.on_error)}')
    return "\n".join(lines) + "\n"
