"""The API's hold on the runtime: the process's Runtime, whether it takes runs, and
the few request-level decisions (draining, import paths, wait bounds).

Everything about runs (live or stored views, waiting, interrupts) is the runtime's:
routes call it directly and let its errors through to the one mapping in
:mod:`api.runtime_errors`.
"""

from __future__ import annotations

import uuid
import weakref
from typing import Any

import anyio

from runtime import (
    GraphError,
    GraphNotFoundError,
    GraphValidationError,
    Run,
    RunNotFoundError,
    Runtime,
    RunView,
)
from runtime.store.base import DEFAULT_TENANT, GraphRecord

from .bounds import check_graph, check_run, check_tenant_runs, run_bounds, run_timeout
from .errors import ApiError
from .schemas import GraphCreate, RunCreate
from .settings import Settings
from .tenant_counts import SharedCounts
from .ws_broadcast import Broadcasts

__all__ = ["ApiService", "run_state"]


class ApiService:
    """Holds the process's Runtime (once serving) and whether new runs are accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.draining = False
        #: The live logs shared by every WebSocket client of a run (set while serving).
        self.broadcasts: Broadcasts | None = None
        #: Tenant-runs count queries shared by the starts that arrive together.
        self.tenant_counts = SharedCounts()
        #: The tenant of each run this process started, while the runtime holds the Run
        #: (a run's tenant never changes): a request naming it is authorized without
        #: reading the run back from the store (:meth:`held_tenant`).
        self._tenants: weakref.WeakKeyDictionary[Run, str] = weakref.WeakKeyDictionary()

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        return self.runtime is not None and not self.draining

    def rt(self) -> Runtime:
        if self.runtime is None:
            raise ApiError(503, "unavailable", "the runtime is not running",
                           headers={"Retry-After": "1"})
        return self.runtime

    async def drain(self) -> None:
        """Stop taking runs and release the running ones (they resume on next start)."""
        self.draining = True
        if self.runtime is not None:
            await self.runtime.shutdown()

    # -- graphs ---------------------------------------------------------------------------
    async def create_graph(self, body: GraphCreate, *, tenant: str = DEFAULT_TENANT
                           ) -> GraphRecord:
        """Validate, compile and store a graph: 400 listing every problem, 409 on a name clash."""
        check_graph(body, self.settings)
        compiled, problems = await self.compile_graph(body, tenant=tenant)
        if compiled is None:
            raise GraphValidationError(body.name, problems)
        return await self.rt().save_graph(compiled, graph_id=str(uuid.uuid4()), tenant=tenant)

    async def compile_graph(self, body: GraphCreate, *, tenant: str = DEFAULT_TENANT
                            ) -> tuple[Any, list[str]]:
        """``(compiled graph, [])``, or ``(None, every problem found)``: what create
        refuses with 400, and what ``POST /api/v1/graph/validate`` reports."""
        try:
            # Untrusted unless the operator trusts every client: nothing a request names
            # is imported (runtime.importpath says which fields name code). Subgraphs may
            # name stored graphs: the catalog puts their definitions in.
            compiled = await self.rt().graphs.compile(
                body.model_dump(by_alias=True, exclude_defaults=True),
                trusted=self.settings.allow_imports, tenant=tenant)
            return compiled, []
        except GraphValidationError as exc:
            return None, exc.problems
        except GraphError as exc:
            return None, [str(exc)]

    async def get_graph(self, key: str, *, tenant: str = DEFAULT_TENANT) -> GraphRecord:
        """``tenant``'s graph by id or name (names are per tenant)."""
        record = await self.rt().store.get_graph(key, tenant=tenant)
        if record is None or record.tenant != tenant:
            raise GraphNotFoundError(f"no graph with id or name {key!r}", key=key)
        return record

    async def mermaid(self, key: str, *, tenant: str = DEFAULT_TENANT
                      ) -> tuple[GraphRecord, str]:
        record = await self.get_graph(key, tenant=tenant)
        compiled, _ = await self.rt().load_graph(record.id)
        return record, compiled.to_mermaid()

    # -- runs -----------------------------------------------------------------------------
    def check_accepting(self) -> None:
        """503 while the server drains: it starts no run and resumes none."""
        if not self.accepting:
            raise ApiError(503, "shutting_down", "the server is shutting down and takes no "
                           "new runs; retry on another instance or after the restart",
                           headers={"Retry-After": "5"})

    async def start_run(self, body: RunCreate, *, graph: str | None = None,
                        tenant: str = DEFAULT_TENANT, config: dict[str, Any] | None = None,
                        trace_parent: dict[str, str] | None = None) -> Run | RunView:
        """Start a run of a stored graph (``graph``: its resolved id, else the body's
        id or name), owned by ``tenant``; the runtime checks the input against the
        graph's state schema before anything runs. In a cluster it is queued for
        whichever process has capacity. ``trace_parent``: the request's W3C trace
        context (the run joins that trace)."""
        self.check_accepting()
        check_run(body, self.settings)
        rt = self.rt()
        await check_tenant_runs(rt, tenant, self.settings, self.tenant_counts)
        start = rt.submit if rt.cluster is not None else rt.start
        run = await start(graph or body.graph_id, body.initial_state,
                          timeout=run_timeout(body, self.settings),
                          max_steps=body.max_steps,
                          config=body.config if config is None else config,
                          tenant=tenant, trace_parent=trace_parent,
                          bounds=run_bounds(self.settings))
        if isinstance(run, Run):
            self._tenants[run] = tenant
        return run

    def held_tenant(self, run_id: str) -> str | None:
        """The tenant of a run this process started and still holds in memory (running
        or recently finished); None when it does not know (ask the store)."""
        if self.runtime is None:
            return None
        run = self.runtime.table.get(run_id)
        return self._tenants.get(run) if run is not None else None

    def live(self, run_id: str) -> Run | None:
        """The run if this process executes it (the WebSocket feed streams its hub)."""
        if self.runtime is None:
            return None
        try:
            return self.runtime.get(run_id)
        except RunNotFoundError:
            return None

    async def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancel without waiting for the run's cleanup: ``cancelling`` until it stopped."""
        status = await self.rt().cancel(run_id, wait=False)
        return {"run_id": run_id,
                "status": status.value if status.finished else "cancelling"}

    async def outcome(self, run: Run | RunView, timeout: float | None) -> RunView:
        """The view of a run just started, once it stops (finished, or waiting for an
        answer) or ``timeout`` passes (capped by ``max_wait_seconds``). A run this
        process executes is awaited in memory: no store read, no poll."""
        limit = self.settings.max_wait_seconds if timeout is None else min(
            timeout, self.settings.max_wait_seconds)
        if isinstance(run, RunView):  # queued for the cluster: follow it through the store
            return await self.wait(run.id, limit)
        with anyio.move_on_after(limit):
            await run.wait()
        return RunView.of_run(run)

    async def wait(self, run_id: str, timeout: float) -> RunView:
        """Long-poll: the run once it stops (finished, or waiting for an answer) or
        ``timeout`` passes (bounded by the server's ``max_wait_seconds``).

        A run this process executes is awaited in memory and, once it finished while
        we waited, answered from memory (as :meth:`outcome` does): no store read, which
        under trio is a round trip to the store's thread. Otherwise the runtime's wait
        (a run that stopped before, waits for an answer, or runs elsewhere)."""
        limit = min(timeout, self.settings.max_wait_seconds)
        rt = self.rt()
        run = rt.table.live(run_id)
        if run is None:
            return await rt.wait(run_id, limit)
        deadline = anyio.current_time() + limit
        with anyio.move_on_after(limit):
            await run.wait()
        if run.status.finished:
            return RunView.of_run(run)
        return await rt.wait(run_id, max(0.0, deadline - anyio.current_time()))


# -- views ---------------------------------------------------------------------------------
def run_state(view: RunView) -> dict[str, Any]:
    """The seed's state view (status, current data, last update) plus errors and warnings."""
    return {
        "run_id": view.id, "graph_id": view.graph_id, "status": view.status.value,
        "current_state": view.data, "last_updated": view.updated_at,
        "error": view.error, "error_type": view.error_type,
        "warnings": view.warnings, "errors": view.errors,
        "started_at": view.started_at, "completed_at": view.completed_at,
    }
