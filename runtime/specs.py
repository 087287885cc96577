"""The parts of a graph as declared: nodes, edges, END, and what compiling reads.

Shared by the builder (:mod:`.graph`), the compiler (:mod:`.compiled`) and the
Mermaid renderer (:mod:`.mermaid`), so that none of them imports another's module
back (no import cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from .node_cache import CachePolicy
from .registry import ToolRegistry
from .retry import RetryPolicy
from .state import Reducer

__all__ = ["END", "JSON_END", "MAX_DEPTH", "Condition", "EdgeSpec", "GraphSpec", "NodeSpec",
           "SubgraphSpec", "key_mapping"]

#: The end of the graph: an edge to END finishes the branch that takes it.
END = "__end__"
#: How JSON may also name END (``"to": "END"``), unless a node has that name.
JSON_END = "END"

Condition = str | Callable[..., Any]

#: How deep subgraphs may nest (a graph that includes itself, through stored names,
#: would otherwise nest forever).
MAX_DEPTH = 8


def key_mapping(keys: Mapping[str, str] | list[str] | tuple[str, ...] | None, what: str
                ) -> dict[str, str]:
    """A subgraph's ``inputs``/``outputs`` as ``{from key: to key}``; a list maps keys to
    themselves."""
    if keys is None:
        return {}
    out = dict(keys) if isinstance(keys, Mapping) else {k: k for k in keys}
    for k, v in out.items():
        if not (isinstance(k, str) and isinstance(v, str) and k and v):
            raise TypeError(f"subgraph {what} must map data keys to data keys, got {k!r}: {v!r}")
    return out


@dataclass
class SubgraphSpec:
    """A graph used as a node (see ``Graph.add_subgraph``): ``graph`` is a CompiledGraph
    or a Graph (compiled with the parent); ``inputs`` maps parent keys to the child's,
    ``outputs`` the child's keys to the parent's."""

    graph: Any
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass
class NodeSpec:
    """A node as declared (see ``Graph.add_node``)."""

    name: str
    fn: Callable[..., Any] | None = None
    tool: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    retry: RetryPolicy | None = None
    concurrency: int | None = None
    writes: tuple[str, ...] = ()
    on_error: str | None = None
    description: str = ""
    interrupt_before: bool = False
    interrupt_after: bool = False
    subgraph: SubgraphSpec | None = None
    goto: tuple[str, ...] = ()     # where a Command it returns may send the run
    cache: CachePolicy | None = None


@dataclass
class EdgeSpec:
    """An edge as declared. ``map_over`` makes it a dynamic map edge."""

    source: str
    target: str
    condition: str | None = None
    condition_fn: str | Callable[..., Any] | None = None
    map_over: str | None = None
    item_key: str = "item"
    max_concurrency: int | None = None
    # a routing function's edge: taken when the router returns ``route_key`` (or target)
    router: str | Callable[..., Any] | None = None
    route_key: str | None = None

    @property
    def conditional(self) -> bool:
        return (self.condition is not None or self.condition_fn is not None
                or self.router is not None)


class GraphSpec(Protocol):
    """What compiling and drawing read from a graph (``Graph`` is the one there is)."""

    name: str
    description: str
    nodes: dict[str, NodeSpec]
    edges: list[EdgeSpec]
    entry_point: str | None
    reducers: dict[str, str | Reducer]
    state_schema: type[BaseModel] | None
    max_steps: int | None
    registry: ToolRegistry
    duplicates: list[str]
    error_edges: dict[str, str]
    starts: list[str]

    def to_json(self) -> dict[str, Any]: ...
