"""Where each problem of a graph definition is: the node, the edge, the field, the column.

The runtime reports a graph's problems as sentences (``GraphValidationError.problems``,
the ``details.problems`` of a 400 from ``POST /api/v1/graph/create``). An editor needs
to draw each one at the node or edge concerned, so :func:`locate` reads the subject
each sentence starts with (``node 'x'``, ``edge a->b``, a pydantic field path...) and
finds it in the definition the client sent. A sentence whose subject is not found is
still reported, with no position: a problem is never dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from runtime import ExpressionError
from runtime.expressions import compile_expression
from runtime.routing import START
from runtime.specs import END, JSON_END

from .schemas import GraphCreate

__all__ = ["GraphValidation", "Problem", "locate", "shape_problems"]


class Problem(BaseModel):
    """One problem and where it is; every position field is null when it does not apply."""

    message: str
    node: str | None = Field(default=None, description="the node concerned (its name)")
    nodes: list[str] = Field(default_factory=list,
                             description="every node concerned (e.g. two parallel branches)")
    edge: int | None = Field(default=None, description="index in the definition's `edges`")
    path: str | None = Field(default=None, description="field path in the definition, e.g. "
                             "`nodes.2.timeout`, `nodes.2.config.seconds` or "
                             "`edges.0.condition`")
    column: int | None = Field(default=None, description="1-based column in the edge's condition")


class GraphValidation(BaseModel):
    """``POST /api/v1/graph/validate``: whether the graph compiles, and every problem."""

    valid: bool
    problems: list[Problem]


_NODE = re.compile(r"^(?:duplicate node name |node )'((?:[^'\\]|\\.)*)'")
_EDGE = re.compile(r"^(?:map )?edge (.+?)->(.+?)(?::| )")
_EDGE_FROM = re.compile(r"^edge from (.+?): ")
_BRANCHES = re.compile(r"^parallel branches '([^']*)' and '([^']*)'")
_ENTRY = re.compile(r"^entry point '((?:[^'\\]|\\.)*)' is not a node")
# A node's config against its tool's schema (runtime.config_check): ``node 'x':
# config.a.0: ...``, a key that is not a plain word quoted as JSON (``config["a b"]``).
_CONFIG = re.compile(r': (config(?:\.[\w-]+|\["(?:[^"\\]|\\.)*"\])*): ')
_CONFIG_PART = re.compile(r'\.([\w-]+)|\[("(?:[^"\\]|\\.)*")\]')
# A problem inside an inline subgraph: ``node 'outer': subgraph 'g': <the child's own>``.
_SUBGRAPH = re.compile(r": subgraph '(?:[^'\\]|\\.)*': ")
_FIELD = re.compile(r"^((?:nodes|edges)\.\d+(?:\.[\w]+)*|[a-z_]+(?:\.[\w]+)*): ")


def shape_problems(definition: Any) -> tuple[GraphCreate | None, list[str]]:
    """The definition as a model, or the field-path problems that stop it being one."""
    try:
        return GraphCreate.model_validate(definition), []
    except ValidationError as exc:
        return None, [f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                      for err in exc.errors(include_url=False)]


def locate(message: str, definition: Any) -> Problem:
    """``message`` with the position of its subject in ``definition`` (raw JSON)."""
    nodes = _list(definition, "nodes")
    edges = _list(definition, "edges")
    if m := _BRANCHES.match(message):
        return Problem(message=message, node=m[1], nodes=[m[1], m[2]])
    if m := _EDGE_FROM.match(message):
        index = _edge_index(edges, m[1].strip("'[]\""), None, nodes)
        return Problem(message=message, edge=index, path=_path("edges", index))
    if m := _EDGE.match(message):
        index = _edge_index(edges, m[1], m[2], nodes)
        return Problem(message=message, edge=index, path=_path("edges", index),
                       column=_column(edges, index) if "condition" in message else None)
    if m := _NODE.match(message):
        name = m[1]
        return Problem(message=message, node=name, nodes=[name],
                       path=_node_path(message, m.end(), name, nodes))
    if m := _FIELD.match(message):
        return _field_problem(message, m[1], nodes, edges)
    if m := _ENTRY.match(message):
        # Set by a START edge, not by an ``entry_point`` field: the problem is that edge.
        if _get(definition, "entry_point") is None:
            index = _edge_index(edges, START, m[1], nodes)
            if index is not None:
                return Problem(message=message, edge=index, path=_path("edges", index))
        return Problem(message=message, path="entry_point")
    if message.startswith("no entry point"):
        return Problem(message=message, path="entry_point")
    return Problem(message=message)


def _node_path(message: str, after: int, name: str, nodes: list[Any]) -> str | None:
    """Where in ``nodes`` the problem of node ``name`` is (its message goes on from
    ``after``): the node, its config field, or a field of its inline subgraph."""
    index = next((i for i, n in enumerate(nodes) if _get(n, "name") == name), None)
    if index is None:
        return None
    path = f"nodes.{index}"
    if s := _SUBGRAPH.match(message, after):
        # Located in the inline definition, as if it had been sent alone.
        inline = _get(_get(nodes[index], "subgraph"), "definition")
        inner = locate(message[s.end():], inline).path
        return path if inner is None else f"{path}.subgraph.definition.{inner}"
    if c := _CONFIG.match(message, after):
        path += ".config" + "".join(f".{json.loads(q) if q else key}"
                                    for key, q in _CONFIG_PART.findall(c[1]))
    return path


def _field_problem(message: str, path: str, nodes: list[Any], edges: list[Any]) -> Problem:
    parts = path.split(".")
    index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if parts[0] == "nodes" and index is not None and index < len(nodes):
        name = _get(nodes[index], "name")
        if isinstance(name, str):
            return Problem(message=message, node=name, nodes=[name], path=path)
    if parts[0] == "edges" and index is not None:
        return Problem(message=message, edge=index, path=path)
    return Problem(message=message, path=path)


def _edge_index(edges: list[Any], source: str, target: str | None,
                nodes: list[Any]) -> int | None:
    """The first edge from ``source`` (to ``target``); edges may list several of each.
    Messages name the graph's ends as the runtime does (``__start__``, ``__end__``); the
    definition may spell them "START" and "END" (unless a node has that name)."""
    named = {_get(n, "name") for n in nodes}
    sources = _spellings(source, START, "START", named)
    targets = None if target is None else _spellings(target, END, JSON_END, named)
    for i, e in enumerate(edges):
        if not sources.isdisjoint(_names(_get(e, "from"))) and (
                targets is None or not targets.isdisjoint(_names(_get(e, "to")))):
            return i
    return None


def _spellings(name: str, end: str, json_name: str, named: set[Any]) -> set[str]:
    return {name, json_name} if name == end and json_name not in named else {name}


def _column(edges: list[Any], index: int | None) -> int | None:
    condition = _get(edges[index], "condition") if index is not None else None
    if not isinstance(condition, str):
        return None
    try:
        compile_expression(condition)
    except ExpressionError as exc:
        return exc.position
    return None


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _list(definition: Any, key: str) -> list[Any]:
    value = _get(definition, key)
    return value if isinstance(value, list) else []


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def _path(kind: str, index: int | None) -> str | None:
    return None if index is None else f"{kind}.{index}"
