"""A validated, runnable graph: resolved node functions, routing tables, joins.

``CompiledGraph.build`` reports every problem at once. Routing decisions the
supervisor makes after each node are table lookups plus, for conditional edges,
the evaluation of pre-compiled safe expressions.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .errors import (
    ExpressionError,
    RunFailed,
    GraphError,
    GraphSerializationError,
    GraphValidationError,
    ToolNotFoundError,
)
from .expressions import Expression, compile_expression
from . import portable
from .loops import components, loop_of
from .node_cache import CachePolicy, code_fingerprint
from .mermaid import render
from .specs import END, MAX_DEPTH, EdgeSpec, GraphSpec, NodeSpec
from .registry import call_style
from .retry import RetryPolicy
from .routing import Router, Send
from .state import Reducer, WorkflowState, resolve_reducer

__all__ = ["CompiledGraph", "CompiledNode", "CompiledSubgraph", "MapRoute", "Route"]

DEFAULT_MAX_STEPS = 10_000


class _Building(threading.local):
    """The graphs being compiled in this thread, outermost first: a Graph added as its
    own subgraph (directly or further down) is a cycle to report, not a recursion to
    overflow. Per thread: big graphs compile in worker threads (runtime.catalog)."""

    def __init__(self) -> None:
        self.graphs: list[GraphSpec] = []


_BUILDING = _Building()
_UNKNOWN = object()


@dataclass(frozen=True, slots=True)
class MapRoute:
    target: str
    over: str
    item_key: str
    max_concurrency: int | None


@dataclass(frozen=True, slots=True)
class Route:
    """A conditional edge: ``target`` fires when ``test(state)`` holds."""

    target: str
    test: Callable[[WorkflowState], bool]
    label: str


@dataclass(frozen=True, slots=True)
class CompiledSubgraph:
    """The graph a subgraph node runs (see :mod:`runtime.subgraph`), with its mappings:
    ``inputs`` parent key -> child key, ``outputs`` child key -> parent key."""

    graph: CompiledGraph
    inputs: dict[str, str]
    outputs: dict[str, str]

    def child_input(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {child: data[parent] for parent, child in self.inputs.items() if parent in data}


async def _run_elsewhere(*args: Any) -> None:
    raise AssertionError("a subgraph node is run by its node actor (runtime.subgraph)")


@dataclass(slots=True)
class CompiledNode:
    name: str
    fn: Callable[..., Any]
    is_async: bool
    second_arg: str | None          # "config", "ctx"/"context" or None
    config: dict[str, Any]
    timeout: float | None
    retry: RetryPolicy | None
    concurrency: int | None
    on_error: str | None
    writes: tuple[str, ...]
    interrupt_before: bool
    interrupt_after: bool
    persistent: bool = False              # on a loop or a map target: keep idle workers
    static: tuple[str, ...] = ()          # unconditional targets (END included)
    routes: tuple[Route, ...] = ()        # conditional edges
    maps: tuple[MapRoute, ...] = ()       # map edges
    subgraph: CompiledSubgraph | None = None   # a graph run as this node
    routers: tuple[Router, ...] = ()      # routing functions
    goto: tuple[str, ...] = ()            # where a Command it returns may go
    cache: CachePolicy | None = None      # with ``key`` resolved to a function


class CompiledGraph:
    """An immutable, validated graph. Build with ``Graph.compile()``."""

    def __init__(self, graph: GraphSpec, nodes: dict[str, CompiledNode],
                 reducers: dict[str, Reducer], max_steps: int) -> None:
        self.graph = graph
        self.name = graph.name
        self.entry_point: str = graph.entry_point or ""
        self.nodes = nodes
        self.reducers = reducers
        self.state_schema: type[BaseModel] | None = graph.state_schema
        self.max_steps = max_steps
        self._joins: dict[frozenset[str], str | None] = {}
        self._definition: object = _UNKNOWN
        self._version: str | None = None
        # Tuples of names (the collector stops tracking a tuple of strings; a set it
        # walks at every full collection: one per node of a 10,000-branch fan-out).
        self._succ: dict[str, tuple[str, ...]] = {
            n: tuple(dict.fromkeys(t for t in self._targets(c) if t != END))
            for n, c in nodes.items()
        }
        #: 1 for a graph without subgraphs, else 1 + its deepest subgraph's depth.
        self.depth: int = 1 + max((n.subgraph.graph.depth for n in nodes.values()
                                   if n.subgraph is not None), default=0)
        self._mark_persistent()

    # -- building -----------------------------------------------------------------
    @classmethod
    def build(cls, graph: GraphSpec) -> CompiledGraph:
        _BUILDING.graphs.append(graph)
        try:
            return cls._build(graph)
        finally:
            _BUILDING.graphs.pop()

    @classmethod
    def _build(cls, graph: GraphSpec) -> CompiledGraph:
        problems: list[str] = [f"duplicate node name {n!r}" for n in dict.fromkeys(graph.duplicates)]
        nodes: dict[str, CompiledNode] = {}
        for spec in graph.nodes.values():
            node = _compile_node(graph, spec, problems)
            if node is not None:
                nodes[spec.name] = node
        _check_names(graph, problems)
        _check_storable_names(graph, problems)
        reducers: dict[str, Reducer] = {}
        for key, r in graph.reducers.items():
            try:
                reducers[key] = resolve_reducer(r, graph.registry.reducers)
            except GraphError as exc:
                problems.append(f"reducer for data key {key!r}: {exc}")
        _attach_edges(graph, nodes, problems)
        compiled = cls(graph, nodes, reducers, graph.max_steps or DEFAULT_MAX_STEPS)
        # Reachability is checked alongside the other problems (every problem at once),
        # but only when the node set is fully known: without an entry point, or with a
        # node that failed to compile, it would only add noise.
        if graph.entry_point in nodes and len(nodes) == len(graph.nodes):
            compiled._check_reachability(problems)
        if not problems:
            compiled._check_parallel_writes(problems)
        if problems:
            raise GraphValidationError(graph.name, problems)
        return compiled

    def _mark_persistent(self) -> None:
        scc = components(self._succ)
        for name, node in self.nodes.items():
            for m in node.maps:
                if m.target in self.nodes:
                    self.nodes[m.target].persistent = True
            if name in self._succ.get(name, ()) or len(scc.get(name, ())) > 1:
                node.persistent = True

    # -- routing --------------------------------------------------------------------
    def route(self, node: CompiledNode, state: WorkflowState) -> list[str | Send]:
        """The targets that fire after ``node``: what its routers return and every holding
        condition, else the default."""
        if node.routes or node.routers:
            fired: list[str | Send] = []
            for router in node.routers:
                fired += router.pick(state, END)
            fired += [r.target for r in node.routes if r.test(state)]
            if fired:
                return fired
        return list(node.static)

    def join_for(self, targets: frozenset[str]) -> str | None:
        """The node where the parallel branches starting at ``targets`` meet.

        It is the node reachable from every branch that is nearest to all of them
        (smallest worst-case distance); None when the branches only meet at END.
        """
        if targets in self._joins:
            return self._joins[targets]
        dists = [self._distances(t) for t in targets]
        common = set(dists[0]).intersection(*dists[1:])
        join = (
            min(common, key=lambda n: (max(d[n] for d in dists), sum(d[n] for d in dists), n))
            if common else None
        )
        self._joins[targets] = join
        return join

    def join_after(self, name: str) -> str | None:
        """Where branches that all start at ``name`` (Sends to one node) meet: after it."""
        succ = self._succ.get(name, ())
        if not succ:
            return None
        if len(succ) == 1:
            return succ[0]
        return self.join_for(frozenset(succ))

    def _distances(self, start: str) -> dict[str, int]:
        dist = {start: 0}
        queue = deque([start])
        while queue:
            n = queue.popleft()
            for m in self._succ.get(n, ()):
                if m not in dist:
                    dist[m] = dist[n] + 1
                    queue.append(m)
        return dist

    @staticmethod
    def _targets(node: CompiledNode) -> list[str]:
        out = list(node.static) + [r.target for r in node.routes] + [m.target for m in node.maps]
        for router in node.routers:
            out += router.targets
        out += node.goto
        if node.on_error:
            out.append(node.on_error)
        return out

    # -- checks -----------------------------------------------------------------------
    def _check_reachability(self, problems: list[str]) -> None:
        seen = set(self._distances(self.entry_point)) if self.entry_point in self.nodes else set()
        for name in self.nodes:
            if name not in seen:
                problems.append(f"node {name!r} is unreachable from entry point {self.entry_point!r}")
        # Nodes that can reach END, walking edges backwards from the terminal nodes.
        ends = {n for n, c in self.nodes.items() if END in c.static or not self._targets(c)
                or any(r.target == END for r in c.routes)
                or any(END in r.targets for r in c.routers) or END in c.goto}
        # An unknown target is reported on its own; assume it may end, to add no noise.
        ends |= {m for succ in self._succ.values() for m in succ if m not in self.nodes}
        preds: dict[str, set[str]] = {n: set() for n in self.nodes}
        for n, succ in self._succ.items():
            for m in succ:
                preds.setdefault(m, set()).add(n)
        can_end = set(ends)
        queue = deque(ends)
        while queue:
            for p in preds[queue.popleft()]:
                if p not in can_end:
                    can_end.add(p)
                    queue.append(p)
        for name in self.nodes:
            if name in seen and name not in can_end:
                problems.append(
                    f"node {name!r} has no path to END: every path from it loops forever; "
                    "add an edge to END or a condition that leaves the loop"
                )

    def _check_parallel_writes(self, problems: list[str]) -> None:
        for name, node in self.nodes.items():
            targets = [t for t in node.static if t != END]
            if node.routes or len(targets) < 2:
                continue
            join = self.join_for(frozenset(targets))
            # Key -> its writers, by branch: one pass over the branches' nodes (a pass
            # over pairs of branches made a 10,000-branch fan-out take minutes).
            writers: dict[str, dict[int, list[str]]] = {}
            for i, t in enumerate(targets):
                for n in sorted(self._branch_nodes(t, join, name)):
                    for key in self.writes(n):
                        if key not in self.reducers:
                            writers.setdefault(key, {}).setdefault(i, []).append(n)
            for key in sorted(writers):
                if len(writers[key]) > 1:
                    _report_parallel_writes(name, key, writers[key], problems)

    def writes(self, name: str) -> tuple[str, ...]:
        return self.nodes[name].writes

    def _branch_nodes(self, start: str, join: str | None, origin: str) -> set[str]:
        out: set[str] = set()
        stack = [start]
        while stack:
            n = stack.pop()
            if n in out or n == join or n == origin:
                continue
            out.add(n)
            stack.extend(self._succ.get(n, ()))
        return out

    @property
    def joins(self) -> dict[str, str]:
        """Each node that fans out unconditionally -> the node that joins its branches
        (runs once, after all of them arrive). Fan-outs whose branches only meet at END
        are left out. Conditional fan-outs are joined the same way, per set of targets
        that fire."""
        out: dict[str, str] = {}
        for name, node in self.nodes.items():
            targets = [t for t in node.static if t != END] + [m.target for m in node.maps]
            if node.routes or len(targets) + (END in node.static) < 2 or not targets:
                continue
            join = self.join_for(frozenset(targets))
            if join is not None:
                out[name] = join
        return out

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart, joins marked (see ``joins``), each subgraph
        drawn inside its node."""
        return render(self.graph, self.joins)

    def to_json(self) -> dict[str, Any]:
        return self.graph.to_json()

    def loop_of(self, node: str) -> list[str]:
        """The nodes of the cycle through ``node``, walking from it (``[node]`` if none)."""
        return loop_of(self._succ, node)

    def definition(self) -> dict[str, Any] | None:
        """The JSON form, computed once; None when the graph has none (local functions)."""
        if self._definition is _UNKNOWN:
            try:
                self._definition = self.to_json()
            except GraphSerializationError:
                self._definition = None
        return self._definition  # type: ignore[return-value]

    @property
    def version(self) -> str:
        """Which definition this is: a hash of its JSON form, or, for a graph without
        one, a token unique to this object. Runs record it to go on with this graph."""
        if self._version is None:
            d = self.definition()
            if d is None:
                self._version = "local:" + uuid.uuid4().hex
            else:
                text = json.dumps(d, sort_keys=True, separators=(",", ":"), default=repr)
                self._version = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]
        return self._version


def _compile_subgraph(spec: NodeSpec, problems: list[str]) -> CompiledNode | None:
    sub = spec.subgraph
    assert sub is not None
    child = sub.graph
    if not isinstance(child, CompiledGraph):
        if any(child is g for g in _BUILDING.graphs):
            chain = " -> ".join([g.name for g in _BUILDING.graphs] + [child.name])
            problems.append(f"subgraph node {spec.name!r}: graph {child.name!r} includes "
                            f"itself ({chain}); a graph cannot be its own subgraph")
            return None
        try:
            child = CompiledGraph.build(child)
        except GraphValidationError as exc:
            problems.append(f"subgraph node {spec.name!r}: {exc}")
            return None
    if child.depth + 1 > MAX_DEPTH:
        problems.append(
            f"subgraph node {spec.name!r}: subgraphs nest {child.depth + 1} deep (graph "
            f"{child.name!r} inside), more than {MAX_DEPTH}; a graph that includes itself "
            "recurses forever: break the cycle")
        return None
    return CompiledNode(
        name=spec.name, fn=_run_elsewhere, is_async=True, second_arg=None, config=spec.config,
        timeout=spec.timeout, retry=spec.retry, concurrency=spec.concurrency,
        on_error=spec.on_error, writes=tuple(sub.outputs.values()),
        interrupt_before=spec.interrupt_before, interrupt_after=spec.interrupt_after,
        subgraph=CompiledSubgraph(child, sub.inputs, sub.outputs),
    )


def _compile_node(graph: GraphSpec, spec: NodeSpec, problems: list[str]) -> CompiledNode | None:
    if spec.subgraph is not None:
        return _compile_subgraph(spec, problems)
    fn = spec.fn
    writes = spec.writes
    if fn is None:
        try:
            info = graph.registry.get(spec.tool or spec.name)
        except ToolNotFoundError as exc:
            problems.append(f"node {spec.name!r}: {exc}")
            return None
        fn = info.fn
        if not writes:
            writes = info.writes
            if info.name == "set" and isinstance(spec.config.get("values"), Mapping):
                writes = tuple(spec.config["values"])
    if not callable(fn):
        problems.append(f"node {spec.name!r}: {fn!r} is not callable")
        return None
    is_async, second = call_style(fn)
    cache = spec.cache
    if cache is not None:
        try:
            cache = CachePolicy(cache.ttl, cache.key_fn(), code_fingerprint(fn))
        except GraphError as exc:
            problems.append(f"node {spec.name!r}: cache key: {exc}")
            return None
    return CompiledNode(
        name=spec.name, fn=fn, is_async=is_async, second_arg=second, config=spec.config,
        timeout=spec.timeout, retry=spec.retry, concurrency=spec.concurrency,
        on_error=spec.on_error, writes=writes, interrupt_before=spec.interrupt_before,
        interrupt_after=spec.interrupt_after, goto=spec.goto, cache=cache,
    )


def _check_storable_names(graph: GraphSpec, problems: list[str]) -> None:
    """Names no store keeps as given (runtime.portable: the same rule on every store)."""
    for what, name in [("graph name", graph.name), *(("node name", n) for n in graph.nodes)]:
        bad = portable.text_problem(name)
        if bad is not None:
            problems.append(f"{what} '{portable.shown(name)}' {bad[0]}")


def _check_names(graph: GraphSpec, problems: list[str]) -> None:
    known = list(graph.nodes)
    if graph.entry_point is None:
        problems.append("no entry point: add a node or call set_entry_point()")
    elif graph.entry_point not in graph.nodes:
        problems.append(f"entry point {graph.entry_point!r} is not a node"
                        + _did_you_mean(graph.entry_point, known))
    _check_starts_and_gotos(graph, known, problems)
    for e in graph.edges:
        if e.router is not None and e.target == "":
            problems.append(f"router {_router_label(e.router)} of node {e.source!r}: "
                            f"{e.route_key}")
            continue
        if e.source not in graph.nodes:
            problems.append(f"edge {e.source}->{e.target}: unknown source node {e.source!r}"
                            + _did_you_mean(e.source, known))
        if e.target not in graph.nodes and e.target != END:
            problems.append(f"edge {e.source}->{e.target}: unknown target node {e.target!r}"
                            + _did_you_mean(e.target, known, end=True))
    for source, handler in graph.error_edges.items():
        problems.append(f"error edge {source}->{handler}: unknown source node {source!r}; "
                        f"add_node({source!r}, ...) too")
    for spec in graph.nodes.values():
        if spec.on_error and spec.on_error not in graph.nodes:
            problems.append(f"node {spec.name!r}: unknown error handler node {spec.on_error!r}"
                            + _did_you_mean(spec.on_error, known))


def _check_starts_and_gotos(graph: GraphSpec, known: list[str], problems: list[str]) -> None:
    if len(graph.starts) > 1:
        problems.append(f"START leads to {', '.join(map(repr, graph.starts))}: a graph has "
                        "one entry point; add a first node that fans out to them")
    for spec in graph.nodes.values():
        for t in spec.goto:
            if t not in graph.nodes and t != END:
                problems.append(f"node {spec.name!r}: unknown goto target {t!r}"
                                + _did_you_mean(t, known, end=True))


def _did_you_mean(name: str, known: list[str], *, end: bool = False) -> str:
    """A hint for a misspelled node name: the closest node names, or END."""
    if end and name.strip("_").lower() == "end":
        return f"; the end of the graph is END ({END!r}; \"END\" in JSON)"
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not close:
        return f" (nodes: {', '.join(known)})" if known and len(known) <= 20 else ""
    return f"; did you mean {' or '.join(repr(c) for c in close)}?"


def _attach_edges(graph: GraphSpec, nodes: dict[str, CompiledNode], problems: list[str]) -> None:
    by_source: dict[str, list[EdgeSpec]] = {}
    for e in graph.edges:
        by_source.setdefault(e.source, []).append(e)
    for name, node in nodes.items():
        static: dict[str, None] = {}   # ordered and deduplicated in O(1) per edge
        routes: list[Route] = []
        maps: list[MapRoute] = []
        routers: dict[int, tuple[Callable[..., Any] | str, dict[str, str]]] = {}
        for e in by_source.get(name, []):
            if e.router is not None:
                if e.target:
                    _, paths = routers.setdefault(id(e.router), (e.router, {}))
                    paths[e.route_key if e.route_key is not None else e.target] = e.target
                continue
            if e.map_over is not None:
                if e.target == END:
                    problems.append(f"map edge {name}->END: a map edge needs a node to run")
                    continue
                maps.append(MapRoute(e.target, e.map_over, e.item_key, e.max_concurrency))
            elif e.conditional:
                # A rejected condition is already a problem; its edge is kept (never
                # taken) so reachability does not report its target as well.
                test = _condition(graph, e, problems) or _never
                routes.append(Route(e.target, test, e.condition or str(e.condition_fn)))
            else:
                static[e.target] = None
        node.static, node.routes, node.maps = tuple(static), tuple(routes), tuple(maps)
        node.routers = tuple(r for r in (_router(graph, name, fn, paths, problems)
                                         for fn, paths in routers.values()) if r is not None)


def _router_label(fn: Callable[..., Any] | str) -> str:
    return repr(fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn)))


def _router(graph: GraphSpec, source: str, fn: Callable[..., Any] | str,
            paths: dict[str, str], problems: list[str]) -> Router | None:
    label = _router_label(fn)
    if isinstance(fn, str):
        try:
            fn = graph.registry.get_condition(fn)
        except ToolNotFoundError as exc:
            problems.append(f"router of node {source!r}: {exc}")
            return None
    if not callable(fn):
        problems.append(f"router {label} of node {source!r} is not callable")
        return None
    return Router(source, fn, paths, label)


def _never(state: WorkflowState) -> bool:
    return False


def _condition(graph: GraphSpec, e: EdgeSpec, problems: list[str]) -> Callable[[WorkflowState], bool] | None:
    where = f"edge {e.source}->{e.target}"
    if e.condition is not None:
        try:
            expr: Expression = compile_expression(e.condition)
        except ExpressionError as exc:
            problems.append(f"{where}: {exc}")
            return None

        names = sorted(expr.names)

        def test_expr(state: WorkflowState) -> bool:
            data = state.data
            for n in names:
                if n not in data:
                    raise _missing(e, n, data)
            try:
                return bool(expr.evaluate(data))
            except ExpressionError as exc:
                raise RunFailed(f"{where}: {exc}", node=e.source) from exc

        return test_expr
    cfn = e.condition_fn
    if isinstance(cfn, str):
        try:
            cfn = graph.registry.get_condition(cfn)
        except ToolNotFoundError as exc:
            problems.append(f"{where}: {exc}")
            return None
    assert cfn is not None
    fn = cfn

    def test_fn(state: WorkflowState) -> bool:
        out = fn(state)
        if isinstance(out, (str, list, tuple, Send)):
            # A LangGraph-style router given as a condition: a name is truthy and would
            # silently take this edge whatever it names.
            raise RunFailed(
                f"{where}: condition {_router_label(fn)} returned {out!r}, not True or "
                "False; a function that names where to go is a router: use "
                f"add_conditional_edges({e.source!r}, {getattr(fn, '__name__', 'router')}, "
                "path_map)", node=e.source)
        return bool(out)

    return test_fn


def _missing(e: EdgeSpec, name: str, data: dict[str, Any]) -> RunFailed:
    """A condition reading a data key nothing has set: an error, never a silent None."""
    close = difflib.get_close_matches(name, list(data), n=3, cutoff=0.6)
    hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f" (data keys: {', '.join(map(repr, list(data)[:20])) or 'none'})")
    return RunFailed(
        f"edge {e.source}->{e.target}: condition {e.condition!r} reads data key {name!r}, "
        f"which is not set{hint}; set it in the run's input or in a node before "
        f"{e.source!r} (None counts as set)", node=e.source)


#: Conflicting pairs named per key and fan-out; more are counted, not listed.
MAX_PAIRS_REPORTED = 10


def _report_parallel_writes(origin: str, key: str, by_branch: dict[int, list[str]],
                            problems: list[str]) -> None:
    """One problem per pair of nodes in different branches that write ``key``."""
    branches = sorted(by_branch)
    pairs = ((a, b) for x, i in enumerate(branches) for j in branches[x + 1:]
             for a in by_branch[i] for b in by_branch[j] if a != b)
    named: set[tuple[str, str]] = set()
    for a, b in pairs:
        if len(named) == MAX_PAIRS_REPORTED:
            writers = {n for ns in by_branch.values() for n in ns}
            problems.append(f"... and more: {len(writers)} nodes in {len(branches)} parallel "
                            f"branches (fan-out from {origin!r}) write data key {key!r}")
            return
        if (a, b) in named:
            continue
        named.add((a, b))
        problems.append(
            f"parallel branches {a!r} and {b!r} (fan-out from {origin!r}) "
            f"both write data key {key!r}, which has no reducer; declare "
            f"one, e.g. reducers={{{key!r}: 'append'}}"
        )
