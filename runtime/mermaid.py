"""Render a graph as a Mermaid flowchart."""

from __future__ import annotations

import re
from collections.abc import Callable

from .specs import END, EdgeSpec, GraphSpec, NodeSpec

__all__ = ["render"]

#: A node's id in the chart: the subgraph path is part of it, so a child's nodes
#: never collide with the parent's.
Ids = Callable[[str], str]


def _id(name: str) -> str:
    # Injective, so "a-b" and "a_b" stay two nodes: "_" doubles, others become _hex_.
    return "n_" + re.sub(
        r"\W|_", lambda m: "__" if m.group() == "_" else f"_{ord(m.group()):x}_", name)


def _label(text: str) -> str:
    # Mermaid's entity codes: a label is text, never markup for whatever renders the
    # chart as HTML (a node named "<img src=x onerror=...>" stays those characters).
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("|", "#124;")
            .replace("<", "#lt;").replace(">", "#gt;"))


def _condition_label(e: EdgeSpec) -> str:
    if e.router is not None:
        name = getattr(e.router, "__name__", e.router)
        key = e.route_key if e.route_key not in (None, e.target) else None
        return f"{name}: {key}" if key is not None else f"{name}"
    return e.condition or f"fn:{getattr(e.condition_fn, '__name__', e.condition_fn)}"


def _tail(spec: NodeSpec, has_edges: bool, nid: Ids, end: str, ind: str) -> list[str]:
    """A node's arrows besides its edges: goto targets, error handler, implicit end."""
    out = [f'{ind}{nid(spec.name)} -.->|"goto"| {end if t == END else nid(t)}'
           for t in spec.goto]
    if not has_edges and not spec.goto:
        out.append(f"{ind}{nid(spec.name)} --> {end}")
    if spec.on_error:
        out.append(f'{ind}{nid(spec.name)} -.->|"on error"| {nid(spec.on_error)}')
    return out


def render(graph: GraphSpec, joins: dict[str, str] | None = None) -> str:
    """Solid arrows: always taken (several from one node run in parallel);
    labelled arrows: conditions (dotted: the default path when none holds);
    thick arrows: map over a list; red dotted arrows: error handlers.
    ``joins`` (fan-out node -> join node, from a compiled graph) draws each join as a
    double-edged box that says which fan-out it waits for. A subgraph node is drawn as
    a Mermaid ``subgraph`` box holding its graph (with its own start and end)."""
    lines = ["flowchart TD"]
    _body(graph, joins, "", lines, "    ")
    return "\n".join(lines) + "\n"


def _body(graph: GraphSpec, joins: dict[str, str] | None, prefix: str, lines: list[str],
          ind: str) -> None:
    def nid(name: str) -> str:
        return _id(prefix + name)

    start, end = ("__start__", "__end__") if not prefix else (nid("__start__"), nid("__end__"))
    joined_by: dict[str, list[str]] = {}
    for fanout, join in (joins or {}).items():
        joined_by.setdefault(join, []).append(fanout)
    lines += [f"{ind}{start}([start])", f"{ind}{end}([end])"]
    for spec in graph.nodes.values():
        if spec.subgraph is not None:
            _subgraph(spec, prefix, lines, ind)
        else:
            lines.append(ind + _node_line(spec, nid, joined_by.get(spec.name)))
    if graph.entry_point:
        lines.append(f"{ind}{start} --> {nid(graph.entry_point)}")
    has_conditions = {e.source for e in graph.edges if e.conditional}
    # (A router with no declared targets has an edge to "": compile() says why.)
    lines += [ind + _edge_line(e, nid, end, e.source in has_conditions) for e in graph.edges
              if e.target]
    for spec in graph.nodes.values():
        lines += _tail(spec, any(e.source == spec.name for e in graph.edges), nid, end, ind)


def _subgraph(spec: NodeSpec, prefix: str, lines: list[str], ind: str) -> None:
    assert spec.subgraph is not None
    child = spec.subgraph.graph
    child_spec = getattr(child, "graph", child)   # a CompiledGraph or a Graph
    lines.append(f'{ind}subgraph {_id(prefix + spec.name)}["{_label(spec.name)}'
                 f'<br/><small>subgraph: {_label(child_spec.name)}</small>"]')
    _body(child_spec, getattr(child, "joins", None), prefix + spec.name + "/", lines,
          ind + "    ")
    lines.append(f"{ind}end")


def _node_line(spec: NodeSpec, nid: Ids, joins_of: list[str] | None) -> str:
    kind = f"tool: {spec.tool}" if spec.fn is None else getattr(spec.fn, "__name__", "fn")
    label = f"{_label(spec.name)}<br/><small>{_label(kind)}</small>"
    if joins_of:
        waits = ", ".join(sorted(joins_of))
        return (f'{nid(spec.name)}[["{label}<br/><small>joins the branches of '
                f'{_label(waits)}</small>"]]')
    return f'{nid(spec.name)}["{label}"]'


def _edge_line(e: EdgeSpec, nid: Ids, end: str, source_has_conditions: bool) -> str:
    dst = end if e.target == END else nid(e.target)
    src = nid(e.source)
    if e.map_over is not None:
        limit = f", max {e.max_concurrency}" if e.max_concurrency else ""
        return f'{src} ==>|"map over {_label(e.map_over)}{limit}"| {dst}'
    if e.conditional:
        return f'{src} -->|"{_label(_condition_label(e))}"| {dst}'
    if source_has_conditions:
        return f'{src} -.->|"otherwise"| {dst}'
    return f"{src} --> {dst}"
