"""What recovery and time travel need from the runtime that hosts them.

A Protocol, so that those modules depend on the parts (store, graphs, runs) and not on
:class:`~runtime.runtime.Runtime`, which imports them (no import cycle).
"""

from __future__ import annotations

from typing import Any, Protocol

from .catalog import GraphCatalog
from .compiled import CompiledGraph
from .graph import Graph
from .run import Run
from .runs import RunTable
from .status import RunStatus
from .store.base import Store

__all__ = ["Host"]


class Host(Protocol):
    store: Store
    graphs: GraphCatalog
    table: RunTable
    instance_id: str
    max_interruptions: int

    async def start(self, graph: CompiledGraph | Graph | str,
                    input: dict[str, Any] | None = None, **options: Any) -> Run: ...

    async def cancel(self, run_id: str, *, wait: bool = True) -> RunStatus: ...
