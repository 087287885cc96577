"""The graphs a runtime knows, and which one each run goes on with.

A graph is found by name (registered), by stored id or name (the store's ``graphs``
table), or from the definition a run carries. One rule holds for every way a run goes
on (resume, crash recovery, state edits, fork): **a run continues with the definition
it started with**, whatever was registered under its name since. Each run records its
graph's version (:attr:`CompiledGraph.version`, a hash of its definition); the catalog
keeps the versions it has started runs with.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .compiled import CompiledGraph
from .errors import GraphNotFoundError
from .graph import Graph
from .registry import ToolRegistry
from .store.base import GraphRecord, RunRecord, Store

__all__ = ["GraphCatalog"]

#: Graph versions kept in memory for the runs that started with them. A run whose
#: version fell out goes on from the definition it carries, its stored graph or,
#: last, the graph registered under its name.
MAX_VERSIONS = 1024


class GraphCatalog:
    def __init__(self, store: Store, registry: ToolRegistry | None) -> None:
        self._store = store
        self._registry = registry
        self._named: dict[str, CompiledGraph] = {}
        self._stored: dict[str, tuple[CompiledGraph, GraphRecord]] = {}  # by id and name
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

    async def load(self, key: str, *, definition: dict[str, Any] | None = None
                   ) -> tuple[CompiledGraph, GraphRecord | None]:
        """A graph by stored id or name, else registered name, else ``definition``."""
        cached = self._stored.get(key)
        if cached is not None:
            # Stored graphs never change (a new definition needs a new name), so a graph
            # read once is served from memory: starting a run costs no graph read.
            return cached
        record = await self._store.get_graph(key)
        if record is None:
            if key in self._named:
                return self._named[key], None
            if definition is not None:
                compiled = self._compile(definition)
                self._named.setdefault(compiled.name, compiled)
                return compiled, None
            raise GraphNotFoundError(
                f"no graph with id or name {key!r}; list the stored graphs (GET "
                "/api/v1/graphs, `actorflow graphs`) or store it first (POST "
                "/api/v1/graph/create, Runtime.save_graph, Runtime(graphs=[...]))", key=key)
        named = self._named.get(record.name)
        if named is None:
            named = self._named[record.name] = self._compile(record.definition)
        self._stored[record.id] = self._stored[record.name] = (named, record)
        return named, record

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
        compiled, _ = await self.load(record.graph_id or record.graph_name)
        return compiled

    def _compile(self, definition: dict[str, Any]) -> CompiledGraph:
        # Trusted: the store and a run's own definition were written by a runtime, not
        # submitted by a client (API input is checked at the door before it gets here).
        compiled: CompiledGraph = Graph.from_json(definition, registry=self._registry,
                                                  trusted=True).compile()
        return compiled
