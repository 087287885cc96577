"""Building a graph: nodes, edges, reducers, entry point; JSON and Mermaid forms.

``Graph`` is a mutable builder. ``compile()`` checks everything at once and
returns an immutable :class:`~runtime.compiled.CompiledGraph` that runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from .compiled import CompiledGraph
from .config_check import config_problems
from .definition import CacheDef, EdgeDef, GraphDef, NodeDef, RetryDef, SubgraphDef
from .errors import GraphError, GraphSerializationError, GraphValidationError
from .importpath import import_path, load
from .registry import ToolRegistry
from .registry import registry as default_registry
from .retry import RetryPolicy, known_exception
from .mermaid import render
from .node_cache import CachePolicy
from .routing import START, declared_targets
from .specs import END, JSON_END, Condition, EdgeSpec, NodeSpec, SubgraphSpec, key_mapping
from .state import Reducer

__all__ = ["END", "START", "EdgeSpec", "Graph", "NodeSpec", "check_configs", "check_untrusted"]

class Graph:
    """A workflow graph under construction.

    Example::

        g = Graph("review", reducers={"issues": "append"})
        g.add_node("extract", extract)
        g.add_node("analyze", analyze, retry=RetryPolicy(max_attempts=3), timeout=5)
        g.add_edge("extract", "analyze")
        g.add_conditional_edge("analyze", "extract", "score < threshold")
        g.add_edge("analyze", END)
        compiled = g.compile()

    Args:
        name: unique graph name.
        reducers: data key -> reducer name ("replace", "append", "add", "merge", a
            registered name) or callable ``(old, new) -> merged``.
        state_schema: a pydantic model that ``data`` must satisfy after every write.
        max_steps: node executions allowed per run before it fails (default 10,000).
        registry: where tool, condition and reducer names are looked up.
    """

    def __init__(
        self,
        name: str,
        *,
        description: str = "",
        reducers: dict[str, str | Reducer] | None = None,
        state_schema: type[BaseModel] | None = None,
        max_steps: int | None = None,
        registry: ToolRegistry | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[EdgeSpec] = []
        self.entry_point: str | None = None
        self.reducers: dict[str, str | Reducer] = dict(reducers or {})
        self.state_schema = _checked_schema(name, state_schema)
        self.max_steps = max_steps
        self.registry = registry or default_registry
        self.duplicates: list[str] = []
        self.error_edges: dict[str, str] = {}   # add_error_edge before add_node(source)
        self.starts: list[str] = []             # add_edge(START, ...): one is allowed

    # -- building ---------------------------------------------------------------
    def add_node(
        self,
        name: str,
        fn: Callable[..., Any] | str | None = None,
        *,
        tool: str | None = None,
        config: dict[str, Any] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int | None = None,
        writes: Iterable[str] = (),
        on_error: str | None = None,
        description: str = "",
        interrupt_before: bool = False,
        interrupt_after: bool = False,
        goto: Iterable[str] = (),
        cache: CachePolicy | None = None,
    ) -> Graph:
        """Add a node running ``fn`` (a callable) or a registered ``tool`` (by name).

        ``fn`` may be a string, taken as a tool name. The first node added is the
        entry point unless ``set_entry_point`` says otherwise. ``goto`` declares where
        a ``Command`` the node returns may send the run. ``cache=CachePolicy(ttl=...)``
        reuses its result for the same input (see :mod:`runtime.node_cache`). Returns
        the graph.
        """
        if isinstance(fn, str):
            tool, fn = fn, None
        if fn is None and tool is None:
            tool = name
        if name in self.nodes:
            # Reported by compile() with every other problem, not raised here.
            self.duplicates.append(name)
            return self
        self.nodes[name] = NodeSpec(
            name=name, fn=fn, tool=tool, config=dict(config or {}), timeout=timeout,
            retry=retry, concurrency=concurrency, writes=tuple(writes), on_error=on_error,
            description=description, interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            goto=tuple(END if t == JSON_END and t not in self.nodes else t for t in goto),
            cache=cache,
        )
        handler = self.error_edges.pop(name, None)
        if handler is not None and on_error is None:
            self.nodes[name].on_error = handler
        if self.entry_point is None:
            self.entry_point = name
        return self

    def add_subgraph(
        self,
        name: str,
        graph: CompiledGraph | Graph,
        *,
        inputs: Mapping[str, str] | list[str] | None = None,
        outputs: Mapping[str, str] | list[str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int | None = None,
        on_error: str | None = None,
        description: str = "",
        interrupt_before: bool = False,
        interrupt_after: bool = False,
    ) -> Graph:
        """Add a node that runs ``graph`` to its end (a subgraph).

        ``inputs`` maps this graph's data keys to the child's (a list keeps the names),
        ``outputs`` the child's keys back to this graph's, merged through this graph's
        reducers. The child's steps are checkpointed under the parent run, so a crash
        resumes inside it; an ``ask`` inside surfaces on the parent run. Example::

            g.add_subgraph("review", review_graph, inputs={"code": "source"},
                           outputs={"issues": "issues"})
        """
        if name in self.nodes:
            self.duplicates.append(name)
            return self
        self.nodes[name] = NodeSpec(
            name=name, config={}, timeout=timeout, retry=retry, concurrency=concurrency,
            on_error=on_error, description=description, interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            subgraph=SubgraphSpec(graph, key_mapping(inputs, "inputs"),
                                  key_mapping(outputs, "outputs")),
        )
        handler = self.error_edges.pop(name, None)
        if handler is not None and on_error is None:
            self.nodes[name].on_error = handler
        if self.entry_point is None:
            self.entry_point = name
        return self

    def add_edge(self, source: str | Iterable[str], target: str | Iterable[str]) -> Graph:
        """Unconditional edge(s). Several targets fan out in parallel; several sources join.

        ``add_edge(START, "first")`` makes ``first`` the entry point."""
        for s in _names(source):
            for t in _names(target):
                if s == START and START not in self.nodes:
                    self.entry_point = t
                    self.starts.append(t)
                else:
                    self.edges.append(EdgeSpec(s, t))
        return self

    def add_join(self, sources: Iterable[str], target: str) -> Graph:
        """Edges from each parallel branch's last node to the node that joins them."""
        return self.add_edge(list(sources), target)

    def add_conditional_edge(self, source: str, target: str, condition: Condition) -> Graph:
        """An edge taken when ``condition`` holds after ``source`` ran.

        ``condition`` is a safe expression over ``data`` (``"score < 70"``), a
        callable ``(state) -> bool``, or ``"fn:NAME"`` for a registered condition.
        Every edge whose condition holds fires; the source's unconditional edges
        are the default, taken only when no condition holds.
        """
        if callable(condition):
            self.edges.append(EdgeSpec(source, target, condition_fn=condition))
        elif condition.startswith("fn:"):
            self.edges.append(EdgeSpec(source, target, condition_fn=condition[3:]))
        else:
            self.edges.append(EdgeSpec(source, target, condition=condition))
        return self

    def add_conditional_edges(self, source: str, router: Callable[..., Any] | str,
                              path_map: dict[str, str] | Iterable[str] | None = None) -> Graph:
        """Route by a function of the state (LangGraph's ``add_conditional_edges``).

        ``router(state)`` returns a key of ``path_map`` (or, with a list path map or
        none, a node name), a list of them (run in parallel), ``Send(node, payload)``
        items (a branch per payload), or None for ``source``'s default edges. The
        possible targets are declared by ``path_map`` (a dict result -> node, or a
        list of nodes) or by the router's ``Literal[...]`` return annotation; anything
        else it returns fails the run naming the router and the node. ``router`` may
        be ``"fn:NAME"`` for a registered condition function (then ``path_map`` is
        needed). END is a valid target.
        """
        fn: Callable[..., Any] | str = router[3:] if isinstance(router, str) and \
            router.startswith("fn:") else router
        if callable(fn):
            paths, missing = declared_targets(fn, path_map)
        elif path_map is not None:
            paths, missing = declared_targets(lambda s: None, path_map)
        else:
            paths, missing = {}, "a registered router needs path_map=[...]"
        if missing is not None:
            # No target to draw: an edge to nowhere that compile() reports with the reason.
            self.edges.append(EdgeSpec(source, "", router=fn, route_key=missing))
        for key, target in paths.items():
            if target == JSON_END and target not in self.nodes:
                target = END
            self.edges.append(EdgeSpec(source, target, router=fn, route_key=key))
        return self

    def add_map_edge(
        self,
        source: str,
        target: str,
        over: str,
        *,
        item_key: str = "item",
        max_concurrency: int | None = None,
    ) -> Graph:
        """Run ``target`` once per item of the list ``data[over]``, at most
        ``max_concurrency`` at a time. Each run sees its item as ``data[item_key]``
        (and ``ctx.item``). The items' updates merge in item order once all are
        done; then ``target``'s own edges are followed once.
        """
        self.edges.append(
            EdgeSpec(source, target, map_over=over, item_key=item_key,
                     max_concurrency=max_concurrency)
        )
        return self

    def add_error_edge(self, source: str, handler: str) -> Graph:
        """Route ``source`` to ``handler`` when it fails (after retries) instead of
        failing the run. The error is appended to ``state.errors``."""
        if source in self.nodes:
            self.nodes[source].on_error = handler
        else:
            # Kept until add_node(source) comes; compile() reports it if it never does.
            self.error_edges[source] = handler
        return self

    def set_entry_point(self, name: str) -> Graph:
        self.entry_point = name
        return self

    def add_reducer(self, key: str, reducer: str | Reducer) -> Graph:
        self.reducers[key] = reducer
        return self

    def compile(self) -> CompiledGraph:
        """Validate the whole graph and return a runnable ``CompiledGraph``.

        Raises GraphValidationError listing every problem found.
        """
        return CompiledGraph.build(self)

    # -- forms --------------------------------------------------------------------
    def to_definition(self) -> GraphDef:
        nodes = [_node_def(n, self.registry) for n in self.nodes.values()]
        edges = [_edge_def(e) for e in self.edges]
        reducers = {}
        for key, r in self.reducers.items():
            reducers[key] = r if isinstance(r, str) else import_path(r, f"reducer of {key!r}")
        return GraphDef(
            name=self.name, description=self.description, nodes=nodes, edges=edges,
            entry_point=self.entry_point, reducers=reducers,
            state_schema=import_path(self.state_schema, "state_schema")
            if self.state_schema else None,
            max_steps=self.max_steps,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (seed format, extended). Callables become "module:qualname"."""
        return self.to_definition().model_dump(by_alias=True, exclude_defaults=True)

    @classmethod
    def from_json(cls, data: dict[str, Any] | GraphDef, *,
                  registry: ToolRegistry | None = None, trusted: bool = False) -> Graph:
        """Build a graph from its JSON form.

        JSON is data: by default nothing it names is imported (tools, conditions,
        reducers and ``retry_on`` exceptions are looked up by name). Only JSON from
        trusted code may name Python code by "module:qualname" (``fn``,
        ``state_schema``, ``retry_on``), and only with ``trusted=True``: importing a
        module runs it. See :mod:`runtime.importpath`.

        Untrusted JSON has each node's ``config`` checked against its tool's
        ``config_schema`` too (:mod:`runtime.config_check`); trusted JSON (a store's, a
        run's own definition) is read as it is.

        Raises GraphValidationError on a bad shape, or listing every import path and
        every config that breaks its tool's schema in untrusted JSON;
        GraphSerializationError when trusted JSON names code that does not import.
        """
        d = data if isinstance(data, GraphDef) else _parse(data)
        registry = registry or default_registry
        if not trusted:
            # Checked before anything is resolved: untrusted JSON never reaches an import.
            problems = _untrusted_problems(d, registry) + config_problems(d, registry)
            if problems:
                raise GraphValidationError(d.name, problems)
        g = cls(d.name, description=d.description, max_steps=d.max_steps, registry=registry,
                state_schema=load(d.state_schema, "state_schema") if d.state_schema else None)
        g.reducers = dict(d.reducers)
        for n in d.nodes:
            if n.subgraph is not None:
                _add_subgraph_def(g, n, registry, trusted)
                continue
            fn = load(n.fn, f"node {n.name!r}") if n.fn else None
            g.add_node(
                n.name, fn, tool=n.tool if fn is None else None, config=n.config,
                timeout=n.timeout, concurrency=n.concurrency, writes=n.writes,
                retry=RetryPolicy.from_dict(n.retry.model_dump(), registry.exceptions,
                                            trusted=trusted) if n.retry else None,
                on_error=n.on_error, description=n.description,
                interrupt_before=n.interrupt_before, interrupt_after=n.interrupt_after,
                goto=n.goto,
                cache=CachePolicy(n.cache.ttl, n.cache.key) if n.cache else None,
            )
        _add_json_edges(g, d)
        if d.entry_point is not None:
            g.entry_point = d.entry_point
        return g

    def to_mermaid(self) -> str:
        """A Mermaid flowchart: parallel edges solid, conditions labelled, maps marked."""
        return render(self)


def _checked_schema(graph: str, schema: Any) -> type[BaseModel] | None:
    """``state_schema`` as given, if it is a pydantic model (or None); anything else (a
    LangGraph habit: a TypedDict, a dataclass) is refused here, where the graph is made,
    rather than by every run that starts."""
    if schema is None or (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return schema
    if isinstance(schema, type):
        what = f"the {'TypedDict' if hasattr(schema, '__total__') else 'class'} {schema.__name__}"
    else:
        what = repr(schema)
    raise GraphError(
        f"graph {graph!r}: state_schema must be a pydantic BaseModel subclass, got {what}; "
        "declare the state as `class State(pydantic.BaseModel)` with the same fields "
        "(reducers go in Graph(..., reducers={...}))")


def _add_json_edges(g: Graph, d: GraphDef) -> None:
    """The JSON form's edges into ``g`` ("START" and "END" understood; routers loaded
    once each, so a router's edges group into one Router)."""
    routers: dict[str, Callable[..., Any]] = {}
    for e in d.edges:
        for s in _names(e.source):
            for t in _names(e.target):
                if t == JSON_END and t not in g.nodes:
                    t = END  # LangGraph users write "END"; a node of that name wins
                if s in ("START", START) and s not in g.nodes:
                    g.add_edge(START, t)
                    continue
                router: str | Callable[..., Any] | None = e.router
                if e.router is not None and ":" in e.router:
                    # One object per router, so its edges group into one Router.
                    router = routers.get(e.router) or routers.setdefault(
                        e.router, load(e.router, f"router of edge {s}->{t}"))
                g.edges.append(EdgeSpec(
                    s, t, condition=e.condition, condition_fn=e.condition_fn,
                    map_over=e.map, item_key=e.item_key, max_concurrency=e.max_concurrency,
                    router=router, route_key=e.when,
                ))


def _names(x: str | Iterable[str]) -> list[str]:
    return [x] if isinstance(x, str) else list(x)


def _add_subgraph_def(g: Graph, n: NodeDef, registry: ToolRegistry, trusted: bool) -> None:
    sub = n.subgraph
    assert sub is not None
    if sub.definition is None:
        raise GraphValidationError(g.name, [
            f"node {n.name!r}: subgraph {sub.graph!r} is named but not resolved; load JSON "
            "that names stored graphs through the runtime (POST /api/v1/graph/create, "
            "Runtime.graphs.resolve), or give the subgraph's definition inline"])
    # An inline definition is checked as its own graph (untrusted: no import in it).
    child = Graph.from_json(sub.definition, registry=registry, trusted=trusted)
    if sub.version is not None:
        version = child.compile().version
        if version != sub.version:
            raise GraphValidationError(g.name, [
                f"node {n.name!r}: subgraph {sub.graph!r} is version {version}, not the "
                f"{sub.version} asked for"])
    g.add_subgraph(
        n.name, child, inputs=sub.inputs, outputs=sub.outputs, timeout=n.timeout,
        concurrency=n.concurrency, on_error=n.on_error, description=n.description,
        retry=RetryPolicy.from_dict(n.retry.model_dump(), registry.exceptions,
                                    trusted=trusted) if n.retry else None,
        interrupt_before=n.interrupt_before, interrupt_after=n.interrupt_after)


def _subgraph_def(n: NodeSpec) -> SubgraphDef:
    assert n.subgraph is not None
    child = n.subgraph.graph
    compiled = child if isinstance(child, CompiledGraph) else child.compile()
    definition = compiled.definition()
    if definition is None:
        raise GraphSerializationError(
            f"node {n.name!r}: its subgraph {compiled.name!r} has no JSON form (a node of it "
            "is not importable); use module-level functions or tools")
    return SubgraphDef(graph=compiled.name, version=compiled.version, inputs=n.subgraph.inputs,
                       outputs=n.subgraph.outputs, definition=definition)


def _node_def(n: NodeSpec, registry: ToolRegistry) -> NodeDef:
    if n.subgraph is not None:
        return NodeDef(
            name=n.name, description=n.description, timeout=n.timeout,
            retry=RetryDef.model_validate(n.retry.to_dict(registry.exceptions))
            if n.retry else None,
            concurrency=n.concurrency, on_error=n.on_error, subgraph=_subgraph_def(n),
            interrupt_before=n.interrupt_before, interrupt_after=n.interrupt_after,
        )
    return NodeDef(
        name=n.name,
        tool=n.tool if n.fn is None else None,
        fn=import_path(n.fn, f"node {n.name!r}") if n.fn is not None else None,
        description=n.description, config=n.config, timeout=n.timeout,
        retry=RetryDef.model_validate(n.retry.to_dict(registry.exceptions)) if n.retry else None,
        concurrency=n.concurrency, writes=list(n.writes), on_error=n.on_error,
        interrupt_before=n.interrupt_before, interrupt_after=n.interrupt_after,
        goto=[JSON_END if t == END else t for t in n.goto],
        cache=None if n.cache is None else CacheDef(
            ttl=n.cache.ttl, key=n.cache.key if n.cache.key is None or isinstance(
                n.cache.key, str) else import_path(n.cache.key, f"cache key of {n.name!r}")),
    )


def _edge_def(e: EdgeSpec) -> EdgeDef:
    cfn = e.condition_fn
    r = e.router
    return EdgeDef.model_validate({
        "router": r if (r is None or isinstance(r, str))
        else import_path(r, f"router of edge {e.source}->{e.target}"),
        "when": e.route_key if e.route_key not in (None, e.target) else None,
        "from": e.source, "to": e.target, "condition": e.condition,
        "condition_fn": cfn if (cfn is None or isinstance(cfn, str))
        else import_path(cfn, f"condition of edge {e.source}->{e.target}"),
        "map": e.map_over, "item_key": e.item_key, "max_concurrency": e.max_concurrency,
    })


def check_untrusted(data: dict[str, Any] | GraphDef, registry: ToolRegistry | None = None
                    ) -> None:
    """Refuse untrusted JSON that would import code, its inline subgraphs' included,
    listing every such field (GraphValidationError); nothing is imported. For a
    definition whose named subgraphs are resolved later (``GraphCatalog.compile``)."""
    d = data if isinstance(data, GraphDef) else _parse(data)
    problems = _untrusted_problems(d, registry or default_registry)
    if problems:
        raise GraphValidationError(d.name, problems)


def check_configs(data: dict[str, Any] | GraphDef, registry: ToolRegistry | None = None
                  ) -> list[str]:
    """Every node config of ``data`` (its inline subgraphs' included) that breaks its
    tool's ``config_schema``, as problems (see :mod:`runtime.config_check`). For a
    definition submitted by a client; stored graphs are not checked again."""
    d = data if isinstance(data, GraphDef) else _parse(data)
    return config_problems(d, registry or default_registry)


def _parse(data: dict[str, Any]) -> GraphDef:
    try:
        return GraphDef.model_validate(data)
    except ValidationError as exc:
        name = data.get("name", "?") if isinstance(data, dict) else "?"
        raise GraphValidationError(str(name), [
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        ]) from exc


def _untrusted_problems(d: GraphDef, registry: ToolRegistry) -> list[str]:
    """Every field of ``d`` that would import code, as problems (nothing is imported).

    What the other code-naming fields name is looked up by name only, later, where an
    unknown name is reported like any other mistake.
    """
    advice = ("importing code named in untrusted JSON is refused (importing runs a module); "
              "name a registered tool instead, or pass trusted=True for JSON from trusted code")
    problems = []
    if d.state_schema:
        problems.append(f"state_schema {d.state_schema!r}: {advice}")
    for n in d.nodes:
        if n.fn:
            problems.append(f"node {n.name!r}: fn {n.fn!r}: {advice}")
        if n.cache is not None and n.cache.key:
            problems.append(f"node {n.name!r}: cache key {n.cache.key!r}: {advice}")
        for name in (n.retry.retry_on or []) if n.retry else []:
            if known_exception(name, registry.exceptions) is None:
                problems.append(
                    f"node {n.name!r}: retry_on {name!r} is not a known exception name; use a "
                    "builtin exception (e.g. 'TimeoutError', 'ConnectionError'), "
                    "'NodeTimeoutError', or a name registered with registry.exception()")
        inline = n.subgraph.definition if n.subgraph is not None else None
        if inline is not None:
            problems += [f"subgraph {n.name!r}: {p}"
                         for p in _untrusted_problems(_parse(inline), registry)]
    for e in d.edges:
        if e.router and ":" in e.router:
            problems.append(f"edge from {e.source!r}: router {e.router!r}: {advice} (a "
                            "registered condition function works as a router)")
    return problems
