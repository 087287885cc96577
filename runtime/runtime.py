"""The Runtime: owns one task group in which every run lives.

::

    async with Runtime(store="sqlite:///actorflow.db") as rt:
        run = await rt.start(compiled, {"code": "..."}, timeout=30)
        final = await run.result()

Leaving the ``async with`` block normally waits for the runs still going;
leaving it by an exception or cancellation (or calling ``shutdown()``) releases
them: they stay resumable and continue when a runtime opens the same store.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .compiled import CompiledGraph
from .errors import (
    GraphError, RunInterrupted, RunNotFoundError, RuntimeClosedError, StoreError,
)
from .graph import Graph
from .registry import ToolRegistry
from .run import Run
from .state import WorkflowState
from .status import RunStatus
from .store import open_store
from .store.base import GraphRecord, RunRecord, Store

__all__ = ["Runtime"]


class Runtime:
    """Runs graphs. One per process is typical; it is an async context manager.

    Args:
        store: a Store, or a URL (``memory://``, ``sqlite:///file.db``,
            ``postgresql://...``). Default: in memory.
        max_concurrent_runs: runs executing at once; the others wait, in order.
        recover: resume runs a crashed process left unfinished (default True).
        max_interruptions: crashes after which a run is failed instead of resumed.
        keep_finished: finished runs kept in memory (older ones are read from the store).
    """

    def __init__(self, store: Store | str | None = None, *,
                 max_concurrent_runs: int | None = None, recover: bool = True,
                 max_interruptions: int = 3, keep_finished: int = 1000,
                 registry: ToolRegistry | None = None, instance_id: str | None = None) -> None:
        self.store: Store = open_store(store or "memory://") if not _is_store(store) else store  # type: ignore[arg-type]
        self.instance_id = instance_id or uuid.uuid4().hex
        self.registry = registry
        self.max_interruptions = max_interruptions
        self.recover = recover
        self.keep_finished = keep_finished
        self._limiter = (anyio.CapacityLimiter(max_concurrent_runs)
                         if max_concurrent_runs else None)
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._graphs: dict[str, CompiledGraph] = {}
        self._tg: TaskGroup | None = None
        self._accepting = False

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Runtime:
        await self.store.open()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._accepting = True
        if self.recover:
            try:
                await self._recover()
            except BaseException:
                await self.__aexit__(None, None, None)
                raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        self._accepting = False
        if exc is not None:
            self._release_all()
        assert self._tg is not None
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # Runs never raise (each records its own outcome), so a group holding only
            # the body's exception is the task group's wrapping: let the exception
            # (say RunFailed from run.result()) propagate as it was raised.
            if exc is not None and len(group.exceptions) == 1 and group.exceptions[0] is exc:
                return None
            raise
        finally:
            self._tg = None
            with anyio.move_on_after(10, shield=True):
                await self.store.close()

    async def shutdown(self) -> None:
        """Stop taking runs and release the running ones (resumable later)."""
        self._accepting = False
        self._release_all()

    def _release_all(self) -> None:
        for run in self._runs.values():
            if not run.done:
                run.release()

    # -- graphs ---------------------------------------------------------------------------
    def register(self, graph: CompiledGraph | Graph) -> CompiledGraph:
        """Make a graph known by name (needed to resume its runs after a crash)."""
        compiled = graph if isinstance(graph, CompiledGraph) else graph.compile()
        self._graphs[compiled.name] = compiled
        return compiled

    async def save_graph(self, graph: Graph | CompiledGraph, *, graph_id: str | None = None
                         ) -> GraphRecord:
        """Validate, register and store a graph. Raises GraphExistsError on a duplicate name."""
        compiled = graph if isinstance(graph, CompiledGraph) else graph.compile()
        record = GraphRecord(id=graph_id or str(uuid.uuid4()), name=compiled.name,
                             description=compiled.graph.description,
                             definition=compiled.to_json())
        saved = await self.store.save_graph(record)
        # Registered only once stored: a duplicate name must not replace the graph
        # that the existing record's runs resolve to.
        self.register(compiled)
        return saved

    async def load_graph(self, key: str) -> tuple[CompiledGraph, GraphRecord | None]:
        """A graph by stored id or name (or registered name)."""
        record = await self.store.get_graph(key)
        if record is None:
            if key in self._graphs:
                return self._graphs[key], None
            raise GraphError(f"no graph with id or name {key!r}")
        compiled = self._graphs.get(record.name)
        if compiled is None:
            compiled = Graph.from_json(record.definition, registry=self.registry).compile()
            self._graphs[record.name] = compiled
        return compiled, record

    # -- runs -----------------------------------------------------------------------------
    async def start(self, graph: CompiledGraph | Graph | str, input: dict[str, Any] | None = None,
                    *, run_id: str | None = None, timeout: float | None = None,
                    max_steps: int | None = None, config: dict[str, Any] | None = None,
                    parent_run_id: str | None = None) -> Run:
        """Start a run and return its handle at once (status ``pending``).

        ``graph`` is a compiled graph, a Graph (compiled here) or a stored graph's id
        or name. ``input`` becomes ``state.data``.
        """
        if self._tg is None or not self._accepting:
            raise RuntimeClosedError("the runtime is not running; use `async with Runtime()`")
        record: GraphRecord | None = None
        if isinstance(graph, str):
            compiled, record = await self.load_graph(graph)
        elif isinstance(graph, Graph):
            compiled = graph.compile()
        else:
            compiled = graph
        self._graphs.setdefault(compiled.name, compiled)
        rid = run_id or str(uuid.uuid4())
        state = WorkflowState(workflow_id=compiled.name, run_id=rid, data=dict(input or {}),
                              config=dict(config or {}))
        run = Run(compiled, state, store=self.store, timeout=timeout, max_steps=max_steps,
                  graph_id=record.id if record else None)
        await self.store.create_run(RunRecord(
            id=rid, graph_id=run.graph_id, graph_name=compiled.name, status="pending",
            initial_state=state.model_dump(mode="json"), owner=self.instance_id,
            parent_run_id=parent_run_id,
            options={"timeout": timeout, "max_steps": max_steps},
        ))
        self._track(run)
        self._tg.start_soon(self._drive, run, name=f"run {rid}")
        return run

    async def _drive(self, run: Run) -> None:
        if self._limiter is None:
            await run.execute()
            return
        async with self._limiter:
            await run.execute()

    def get(self, run_id: str) -> Run:
        """A run of this runtime by id; raises RunNotFoundError."""
        try:
            return self._runs[run_id]
        except KeyError:
            raise RunNotFoundError(f"no run {run_id!r} in this runtime", run_id=run_id) from None

    async def wait(self, run_id: str, timeout: float | None = None) -> Run:
        """Wait until the run ends (or ``timeout`` passes); return it."""
        run = self.get(run_id)
        with anyio.move_on_after(timeout):
            await run.wait()
        return run

    def runs(self, status: RunStatus | None = None) -> list[Run]:
        """Runs known to this runtime (most recent last), optionally by status."""
        return [r for r in self._runs.values() if status is None or r.status is status]

    def _track(self, run: Run) -> None:
        self._runs[run.id] = run
        if len(self._runs) > self.keep_finished:
            for rid in [k for k, r in self._runs.items() if r.done][: len(self._runs) - self.keep_finished]:
                del self._runs[rid]

    # -- recovery -------------------------------------------------------------------------
    async def _recover(self) -> None:
        for record in await self.store.claim_orphaned_runs(self.instance_id):
            await self._resume(record)

    async def _resume(self, record: RunRecord) -> None:
        assert self._tg is not None
        if record.interruptions > self.max_interruptions:
            await self.store.update_run(
                record.id, status="failed", error_type="RunInterrupted",
                error=str(RunInterrupted(
                    f"run {record.id} was interrupted {record.interruptions} times by crashes "
                    f"(limit {self.max_interruptions}); not resuming it again", run_id=record.id)))
            return
        try:
            compiled, _ = await self.load_graph(record.graph_id or record.graph_name)
        except (GraphError, StoreError) as exc:
            await self.store.update_run(record.id, status="failed", error_type=type(exc).__name__,
                                        error=f"cannot resume: {exc}")
            return
        opts = record.options
        state = WorkflowState.model_validate(record.initial_state)
        run = Run(compiled, state, store=self.store, timeout=opts.get("timeout"),
                  max_steps=opts.get("max_steps"), graph_id=record.graph_id)
        checkpoint = await self.store.latest_checkpoint(record.id)
        if checkpoint is not None:
            run.restore(checkpoint)
        self._track(run)
        self._tg.start_soon(self._drive, run, name=f"run {record.id} (resumed)")


def _is_store(x: object) -> bool:
    return x is not None and not isinstance(x, str)
