"""The graphs a runtime knows, and which one each run goes on with.

A graph is found by name (registered), by stored id or name (the store's ``graphs``
table), or from the definition a run carries. One rule holds for every way a run goes
on (resume, crash recovery, state edits, fork): **a run continues with the definition
it started with**, whatever was registered under its name since. Each run records its
graph's version (:attr:`CompiledGraph.version`, a hash of its definition); the catalog
keeps the versions it has started runs with.
"""

from __future__ import annotations

import difflib

from collections import OrderedDict
from functools import partial
from typing import Any

import anyio

from .compiled import CompiledGraph
from .errors import GraphNotFoundError, GraphValidationError
from .graph import Graph, check_configs, check_untrusted
from .registry import ToolRegistry
from .specs import MAX_DEPTH
from .store.base import DEFAULT_TENANT, GraphRecord, RunRecord, Store

__all__ = ["GraphCatalog"]

#: Graph versions kept in memory for the runs that started with them. A run whose
#: version fell out goes on from the definition it carries, its stored graph or,
#: last, the graph registered under its name.
MAX_VERSIONS = 1024
#: Definitions with at least this many nodes and edges compile in a worker thread: a
#: 10,000-branch fan-out takes about a second to check, which the event loop (and every
#: request it serves, /health included) must not wait for. Smaller ones compile in
#: far less than the thread hop costs.
OFF_LOOP_SIZE = 1000


class GraphCatalog:
    def __init__(self, store: Store, registry: ToolRegistry | None) -> None:
        self._store = store
        self._registry = registry
        self._named: dict[str, CompiledGraph] = {}
        # Stored graphs by id, and by (tenant, name): names are unique per tenant only.
        self._stored: dict[str | tuple[str | None, str], tuple[CompiledGraph, GraphRecord]] = {}
        self._versions: OrderedDict[str, CompiledGraph] = OrderedDict()

    def register(self, compiled: CompiledGraph) -> CompiledGraph:
        self._named[compiled.name] = compiled
        return compiled

    def adopt(self, compiled: CompiledGraph) -> str:
        """Note that a run starts with ``compiled``; return the version the run records."""
        self._named.setdefault(compiled.name, compiled)
        version = compiled.version
        self._keep(version, compiled)
        return version

    def _keep(self, version: str, compiled: CompiledGraph) -> None:
        self._versions[version] = compiled
        self._versions.move_to_end(version)
        while len(self._versions) > MAX_VERSIONS:
            self._versions.popitem(last=False)

    async def load(self, key: str, *, definition: dict[str, Any] | None = None,
                   tenant: str | None = None) -> tuple[CompiledGraph, GraphRecord | None]:
        """A graph by stored id or name (``tenant``'s name when given), else registered
        name, else ``definition``."""
        cached = self._stored.get(key) or self._stored.get((tenant or DEFAULT_TENANT, key))
        if cached is not None:
            # Stored graphs never change (a new definition needs a new name), so a graph
            # read once is served from memory: starting a run costs no graph read.
            return cached
        record = await self._store.get_graph(key, tenant=tenant)
        if record is None:
            if key in self._named:
                return self._named[key], None
            if definition is not None:
                compiled = self._compile(definition)
                self._named.setdefault(compiled.name, compiled)
                return compiled, None
            stored = await self._store.list_graphs(limit=1000, tenant=tenant)
            close = difflib.get_close_matches(
                key, sorted({*self._named, *(g.name for g in stored)}), n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise GraphNotFoundError(
                f"no graph with id or name {key!r}{hint}; list the stored graphs (GET "
                "/api/v1/graphs, `actorflow graphs`) or store it first (POST "
                "/api/v1/graph/create, Runtime.save_graph, Runtime(graphs=[...]))", key=key)
        # Registered names are the default tenant's (Runtime.save_graph registers no
        # other's): another tenant's record is compiled from its own definition.
        named = self._named.get(record.name) if record.tenant == DEFAULT_TENANT else None
        if named is None:
            named = self._compile(record.definition)
            if record.tenant == DEFAULT_TENANT:
                self._named[record.name] = named
        entry = (named, record)
        self._stored[record.id] = self._stored[(record.tenant, record.name)] = entry
        return entry

    async def record(self, key: str, *, tenant: str | None = None) -> GraphRecord | None:
        """The stored graph ``key`` names (its id, or ``tenant``'s name), None if none;
        from memory once a run loaded it (stored graphs never change), so checking who
        owns the graph of each run request costs no database read."""
        cached = self._stored.get(key) or self._stored.get((tenant or DEFAULT_TENANT, key))
        if cached is not None:
            return cached[1]
        return await self._store.get_graph(key, tenant=tenant)

    async def of_run(self, record: RunRecord) -> CompiledGraph:
        """The graph ``record``'s run started with (see the module docstring)."""
        version = record.options.get("graph_version")
        compiled = self._versions.get(version) if isinstance(version, str) else None
        if compiled is not None:
            return compiled
        definition = record.options.get("graph_def")
        if definition is not None:
            compiled = self._compile(definition)
            self._keep(version if isinstance(version, str) else compiled.version, compiled)
            return compiled
        compiled, _ = await self.load(record.graph_id or record.graph_name, tenant=record.tenant)
        return compiled

    async def compile(self, definition: dict[str, Any], *, trusted: bool = True,
                      tenant: str | None = None) -> CompiledGraph:
        """Compile a JSON definition whose subgraphs may name stored (or registered)
        graphs instead of carrying their definition inline (see ``resolve``).

        With ``trusted=False`` (a request body), what the definition itself says, inline
        subgraphs included, may import nothing; the stored graphs it names are trusted
        (the runtime reads its own store as trusted, see runtime.importpath).

        Either way the definition is new (a client's): each node's config, inline
        subgraphs' included, is checked against its tool's ``config_schema``, and the
        violations are reported with every other problem. The stored graphs it names
        are not checked again (nor are they when a run loads them)."""
        if not trusted:
            check_untrusted(definition, self._registry)
        resolved = await self.resolve(definition, tenant=tenant)
        if _size(resolved) < OFF_LOOP_SIZE:
            return self._compile_new(definition, resolved)
        # Its version (a hash of its JSON form) too, which the first run would compute.
        return await anyio.to_thread.run_sync(
            partial(self._compile_new, definition, resolved, hashed=True))

    async def resolve(self, definition: dict[str, Any], chain: tuple[str, ...] = (),
                      *, tenant: str | None = None) -> dict[str, Any]:
        """``definition`` with every subgraph named by graph name (``tenant``'s, when
        given) given its definition inline, nested ones too. Raises GraphValidationError for an unknown name, a graph
        that includes itself, or nesting deeper than MAX_DEPTH."""
        name = str(definition.get("name", "?"))
        chain = (*chain, name)
        if name in chain[:-1]:
            raise GraphValidationError(chain[0], [
                f"graph {name!r} includes itself ({' -> '.join(chain)}); a graph cannot be "
                "its own subgraph"])
        if len(chain) > MAX_DEPTH:
            raise GraphValidationError(chain[0], [
                f"subgraphs nest more than {MAX_DEPTH} deep ({' -> '.join(chain)})"])
        nodes = []
        for node in definition.get("nodes") or []:
            sub = node.get("subgraph") if isinstance(node, dict) else None
            if isinstance(sub, dict):
                inner = sub.get("definition")
                if inner is None:
                    inner = await self._definition_of(str(sub.get("graph")), node, chain,
                                                      tenant)
                node = {**node, "subgraph": {**sub, "definition":
                                             await self.resolve(inner, chain, tenant=tenant)}}
            nodes.append(node)
        return {**definition, "nodes": nodes}

    async def _definition_of(self, graph: str, node: dict[str, Any], chain: tuple[str, ...],
                             tenant: str | None) -> dict[str, Any]:
        record = await self._store.get_graph(graph, tenant=tenant)
        if record is not None and (tenant is None or record.tenant == tenant):
            return record.definition
        named = self._named.get(graph) if tenant in (None, DEFAULT_TENANT) else None
        definition = named.definition() if named is not None else None
        if definition is None:
            raise GraphValidationError(chain[0], [
                f"node {node.get('name')!r} of graph {chain[-1]!r}: no stored graph "
                f"{graph!r} to use as its subgraph; store it first (POST /api/v1/graph/create)"])
        return definition

    def _compile_new(self, definition: dict[str, Any], resolved: dict[str, Any], *,
                     hashed: bool = False) -> CompiledGraph:
        """``resolved`` compiled, ``definition``'s configs checked against their tools'
        schemas: every problem of both raised together."""
        configs = check_configs(definition, self._registry)
        try:
            compiled = self._compile(resolved, hashed=hashed)
        except GraphValidationError as exc:
            if not configs:
                raise
            raise GraphValidationError(exc.graph, [*exc.problems, *configs]) from exc
        if configs:
            raise GraphValidationError(compiled.name, configs)
        return compiled

    def _compile(self, definition: dict[str, Any], *, hashed: bool = False) -> CompiledGraph:
        # Trusted: the store and a run's own definition were written by a runtime, not
        # submitted by a client (API input is checked at the door before it gets here).
        compiled: CompiledGraph = Graph.from_json(definition, registry=self._registry,
                                                  trusted=True).compile()
        if hashed:
            compiled.version  # noqa: B018 - computed now, off the event loop
        return compiled


def _size(definition: dict[str, Any]) -> int:
    """Nodes and edges of a definition, its subgraphs' included."""
    nodes = definition.get("nodes") or []
    inner = sum(_size(n["subgraph"]["definition"]) for n in nodes
                if isinstance(n, dict) and isinstance(n.get("subgraph"), dict)
                and isinstance(n["subgraph"].get("definition"), dict))
    return len(nodes) + len(definition.get("edges") or []) + inner
