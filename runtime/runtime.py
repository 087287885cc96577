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

import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.abc import TaskGroup, TaskStatus

from . import tracing
from .catalog import GraphCatalog
from .compiled import CompiledGraph
from .errors import (
    GraphError,
    RunNotFoundError,
    RuntimeClosedError,
    StoreError,
)
from .events import DEFAULT_SUBSCRIBER_BUFFER, Event
from .feed import Feed
from .fresh import new_run_id, new_run_record, new_state
from .gc_tuning import CollectorTuning
from .graph import Graph
from .lease import ClusterSettings, Leases, LeaseStore
from .owner import new_instance_id
from .recovery import adopt_orphans, recover
from .registry import ToolRegistry
from .payload_bounds import RunBounds
from .run import Run
from .runs import RunTable
from .history import history
from .interrupts import InvalidResume
from .state import WorkflowState, check_json, validate_input
from .status import RunStatus
from .node_cache import NodeCache
from .store import open_store
from .store.base import DEFAULT_TENANT, Checkpoint, GraphRecord, RunRecord, Store, utcnow
from .store.portal import threadsafe_caller
from .store.channels import CONTROL_CHANNEL, EVENTS_CHANNEL, NOTIFY_CHANNEL
from .subgraph import child_runs
from .threads import Multitask, Threads
from .timetravel import (
    cancel_stored,
    fork,
    get_state,
    replay,
    resume_stored,
    update_state,
    waiting_interrupts,
)
from .view import RunView

__all__ = ["Runtime"]

log = logging.getLogger("actorflow.runtime")

#: How often a reader re-reads a run executing elsewhere when notifications wake it.
NOTIFIED_POLL_SECONDS = 5.0


class Runtime:
    """Runs graphs. One per process is typical; it is an async context manager.

    Args:
        store: a Store, or a URL (``memory://``, ``sqlite:///file.db``,
            ``postgresql://...``). Default: in memory.
        max_concurrent_runs: runs executing at once; the others wait, in order.
        recover: resume runs a crashed process left unfinished (default True). Their
            graphs are found in the store, in ``graphs``, or in the definition each run
            keeps when its graph serializes (tools and importable functions); a run
            whose graph this runtime cannot rebuild is left, with a warning, for one
            that can (runtime.recovery).
        max_interruptions: crashes after which a run is failed instead of resumed.
        keep_finished: finished runs kept in memory (older ones are read from the store).
        retention: seconds after which finished runs (with their checkpoints, events
            and logs) are deleted from the store; None keeps them forever.
        cluster: share the store's runs with other processes (runtime.lease): queue,
            leases, takeover, fencing. Needs a SQL store. None: this process alone
            executes the store's runs (it resumes every unfinished one at open).
        durability: what a committed step survives, for a SQL store given by URL:
            ``"process"`` (the default: a crash of this process, kill -9 included,
            loses nothing) or ``"power"`` (also power loss: an fsync per group
            commit). See the README's "Durability". A store given as an object keeps
            its own (``SQLStore(url, durability=...)``); asking another is an error.
        gc_threshold: opt in to rarer garbage collections while this runtime is open:
            the collector's first threshold (CPython's default is 700) is raised to
            this many container allocations, and the application's own setting comes
            back when the runtime closes. Worth it with many runs in flight (W3, 1000
            concurrent runs: see the README's "Garbage collection"); None (the default)
            leaves the collector as the application set it. See runtime.gc_tuning.
        orphan_check: with ``recover`` and no cluster, on a durable store: every this
            many seconds, look for runs whose process died after this runtime opened
            (an ``actorflow run`` killed beside a server on the same database: its owner
            was a process of this host that no longer exists) and resume them here
            (:func:`runtime.recovery.adopt_orphans`). None (the default): only at open.
    """

    def __init__(self, store: Store | str | None = None, *,
                 max_concurrent_runs: int | None = None, recover: bool = True,
                 max_interruptions: int = 3, keep_finished: int = 1000,
                 registry: ToolRegistry | None = None, instance_id: str | None = None,
                 graphs: Iterable[CompiledGraph | Graph] = (),
                 retention: float | None = None,
                 cluster: ClusterSettings | None = None,
                 durability: str | None = None, gc_threshold: int | None = None,
                 orphan_check: float | None = None) -> None:
        if orphan_check is not None and orphan_check <= 0:
            raise ValueError(f"orphan_check must be a positive number of seconds (or None "
                             f"not to watch), got {orphan_check}")
        if gc_threshold is not None and gc_threshold < 1:
            raise ValueError(f"gc_threshold must be a positive number of allocations (or "
                             f"None to leave the collector alone), got {gc_threshold}")
        self.gc_threshold = gc_threshold
        self._gc_held = False
        self.store: Store = (store if isinstance(store, Store)
                             else open_store(store or "memory://", durability=durability))
        if durability is not None and getattr(self.store, "durability", None) != durability:
            raise ValueError(
                f"durability={durability!r} asked, but the store {self.store.url!r} is "
                f"{getattr(self.store, 'durability', None) or 'not durable (memory)'}: give "
                "the level to the store you pass, or pass a sqlite:/// or postgresql:// URL")
        if cluster is not None and not isinstance(self.store, LeaseStore):
            raise ValueError(
                f"a cluster shares runs through a SQL database, and {self.store.url!r} is "
                "not one (a memory store lives in one process): use sqlite:///file.db on "
                "one host, or postgresql://... across machines")
        if cluster is not None and max_concurrent_runs is None:
            max_concurrent_runs = cluster.concurrency
        # Host and pid first: an operator reading ``runs.owner`` knows which process.
        self.instance_id = instance_id or new_instance_id()
        self.registry = registry
        self.max_interruptions = max_interruptions
        self.recover = recover
        #: The runs of this runtime: run table, slots, resume bookkeeping, wake-ups.
        self.table = RunTable(keep_finished=keep_finished,
                              max_concurrent=max_concurrent_runs)
        #: The graphs this runtime knows, and which one each run goes on with.
        self.graphs = GraphCatalog(self.store, registry)
        #: Nodes' cached results (``cache=CachePolicy(...)``): memory, then the store.
        self.node_cache = NodeCache(self.store)
        self.table.node_cache = self.node_cache
        self._tg: TaskGroup | None = None
        self._accepting = False
        self._feed = Feed(self.table, self.store)
        self.table.follow = self._feed.follow
        #: Conversations over many runs (``start(..., thread_id=...)``).
        self.threads = Threads(self)
        self.table.admit = self.threads.admit
        self.retention = retention
        self._pruner: anyio.CancelScope | None = None
        self.orphan_check = orphan_check
        self._orphan_watch: anyio.CancelScope | None = None
        self.cluster = cluster
        #: This process's leases, while open in a cluster.
        self.leases: Leases | None = None
        self._lease_tg: TaskGroup | None = None
        for g in graphs:
            self.register(g)

    @property
    def keep_finished(self) -> int:
        """Finished runs kept in memory (the run table's)."""
        return self.table.keep_finished

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.store.open()
        if self.cluster is not None:
            # Entered before the runs' task group, so that it is left after it: the
            # heartbeat goes on while the runs finish.
            self._lease_tg = anyio.create_task_group()
            await self._lease_tg.__aenter__()
        if self.gc_threshold is not None:
            CollectorTuning.acquire(self.gc_threshold)
            self._gc_held = True
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self.table.open(tg)
        self._accepting = True
        if self.cluster is not None:
            try:
                await self._open_leases(self.cluster)
            except BaseException:
                await self.__aexit__(None, None, None)
                raise
        if self.retention is not None:
            await tg.start(self._prune_forever, self.retention)
        if self.recover and self.cluster is None:
            try:
                await recover(self)
            except BaseException:
                await self.__aexit__(None, None, None)
                raise
            if self.orphan_check is not None and self.store.durable:
                await tg.start(self._watch_orphans, self.orphan_check)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> bool | None:
        self._accepting = False
        if exc is not None:
            self._release_all()
        if self._pruner is not None:
            self._pruner.cancel()
        if self._orphan_watch is not None:
            self._orphan_watch.cancel()
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
            if self._gc_held:
                self._gc_held = False
                CollectorTuning.release()
            self.table.close()
            await self._close_leases()
            with anyio.move_on_after(10, shield=True):
                await self.store.close()

    async def _open_leases(self, settings: ClusterSettings) -> None:
        """Heartbeat and claim (once runs can be launched), and listen to the others."""
        assert isinstance(self.store, LeaseStore) and self._lease_tg is not None
        self.leases = Leases(self, self.store, settings)
        self.table.gate = self.leases
        await self._lease_tg.start(self.leases.serve)
        leases, table = self.leases, self.table
        if await leases.store.listen({
            NOTIFY_CHANNEL: threadsafe_caller(lambda _: leases.wake()),
            EVENTS_CHANNEL: threadsafe_caller(table.notify),
            CONTROL_CHANNEL: threadsafe_caller(leases.check),
        }, on_reconnect=partial(threadsafe_caller(self._reconnected), "")):
            # Readers of runs executing elsewhere are woken by notifications; their
            # re-reads of the store are only a safety net.
            table.poll_seconds = NOTIFIED_POLL_SECONDS

    def _reconnected(self, _: str) -> None:
        """The listening connection came back: what was notified meanwhile is lost, so
        claim and re-read now rather than at the next poll."""
        if self.leases is not None:
            self.leases.wake()
        self.table.notify_all()

    async def _close_leases(self) -> None:
        tg, self._lease_tg = self._lease_tg, None
        if tg is not None:
            # Cancelled, its exit returns at once; entered before the runs' task group, it
            # is left after it (scopes nest).
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)

    async def _prune_forever(self, retention: float, *,
                             task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                             ) -> None:
        """Delete finished runs older than ``retention`` seconds, now and then."""
        with anyio.CancelScope() as scope:
            self._pruner = scope
            task_status.started()
            while True:
                try:
                    await self.store.prune(older_than_seconds=retention)
                except StoreError:
                    pass  # the store retries on its own; try again next period
                await anyio.sleep(min(max(retention / 10, 1.0), 600.0))

    async def _watch_orphans(self, period: float, *,
                             task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
                             ) -> None:
        """Every ``period`` seconds, resume here the runs whose process on this host is
        gone (one read of the active runs' owners when there is nothing to take)."""
        with anyio.CancelScope() as scope:
            self._orphan_watch = scope
            task_status.started()
            while True:
                await anyio.sleep(period)
                if not self._accepting:
                    return  # shutting down: what is left resumes at the next start
                try:
                    await adopt_orphans(self)
                except StoreError as exc:
                    log.warning("looking for runs whose process is gone failed "
                                "(retrying in %ss): %s", period, exc)
                except Exception:  # noqa: BLE001 - a bug here must not end the runtime's runs
                    log.exception("looking for runs whose process is gone failed "
                                  "(retrying in %ss)", period)

    async def shutdown(self) -> None:
        """Stop taking runs and release the running ones (resumable later; in a cluster,
        handed back at once for another process to claim)."""
        self._accepting = False
        if self.leases is not None:
            self.leases.claiming = False
        self._release_all()

    def _release_all(self) -> None:
        self.table.release_all()

    # -- graphs ---------------------------------------------------------------------------
    def register(self, graph: CompiledGraph | Graph) -> CompiledGraph:
        """Make a graph known by name (needed to resume its runs after a crash)."""
        compiled = graph if isinstance(graph, CompiledGraph) else graph.compile()
        return self.graphs.register(compiled)

    async def save_graph(self, graph: Graph | CompiledGraph, *, graph_id: str | None = None,
                         tenant: str = DEFAULT_TENANT) -> GraphRecord:
        """Validate, register and store a graph (owned by ``tenant``). Raises
        GraphExistsError on a duplicate name."""
        compiled = graph if isinstance(graph, CompiledGraph) else graph.compile()
        record = GraphRecord(id=graph_id or str(uuid.uuid4()), name=compiled.name,
                             description=compiled.graph.description,
                             definition=compiled.to_json(), tenant=tenant)
        saved = await self.store.save_graph(record)
        # Registered only once stored: a duplicate name must not replace the graph
        # that the existing record's runs resolve to. Another tenant's graph is never
        # registered: registered names are the default tenant's (names are per tenant).
        if tenant == DEFAULT_TENANT:
            self.register(compiled)
        return saved

    async def load_graph(self, key: str, *, definition: dict[str, Any] | None = None,
                         tenant: str | None = None
                         ) -> tuple[CompiledGraph, GraphRecord | None]:
        """A graph by stored id or name (``tenant``'s graph of that name when given),
        else registered name, else ``definition``."""
        return await self.graphs.load(key, definition=definition, tenant=tenant)

    # -- runs -----------------------------------------------------------------------------
    async def start(self, graph: CompiledGraph | Graph | str, input: dict[str, Any] | None = None,
                    *, run_id: str | None = None, timeout: float | None = None,
                    max_steps: int | None = None, config: dict[str, Any] | None = None,
                    interrupt_before: list[str] | None = None,
                    interrupt_after: list[str] | None = None,
                    parent_run_id: str | None = None, thread_id: str | None = None,
                    tenant: str = DEFAULT_TENANT, bounds: RunBounds | None = None,
                    multitask: Multitask | str = Multitask.REJECT,
                    trace_parent: Mapping[str, str] | None = None, **options: Any) -> Run:
        """Start a run and return its handle at once (status ``pending``).

        ``graph`` is a compiled graph, a Graph (compiled here) or a stored graph's id
        or name. ``input`` becomes ``state.data``. ``tenant`` is who owns the run (data the
        runtime keeps and never interprets). ``interrupt_before`` /
        ``interrupt_after`` pause the run around the named nodes (for this run).
        ``bounds`` limits its state's size and its nodes' event payloads (see
        :mod:`runtime.payload_bounds`; kept with the run, so a resumed run keeps them).

        With ``thread_id`` the run is a turn of that conversation (created on first
        use): it starts from the thread's latest state with ``input`` merged through
        the graph's reducers. While another run of the thread is active, ``multitask``
        decides: ``"reject"`` raises ThreadBusyError, ``"enqueue"`` waits for it,
        ``"interrupt"`` cancels it (see :mod:`runtime.threads`).

        In a cluster the run executes here, under a lease taken as it is created;
        :meth:`submit` queues it for any process instead.

        OpenTelemetry: the run is traced (if the application set a tracer provider) in
        the trace of ``trace_parent``, the W3C ``traceparent``/``tracestate`` headers of
        the request that asked for it, else of the span current here
        (:mod:`runtime.tracing`).
        """
        run, record, strategy = await self._new_run(
            graph, input, run_id=run_id, timeout=timeout, max_steps=max_steps, config=config,
            interrupt_before=interrupt_before, interrupt_after=interrupt_after,
            parent_run_id=parent_run_id, thread_id=thread_id, tenant=tenant,
            bounds=bounds, multitask=multitask, trace_parent=trace_parent, **options)
        if self.cluster is not None:
            record.lease_epoch = 1
            record.lease_until = utcnow() + timedelta(seconds=self.cluster.lease_seconds)
        if thread_id is not None and strategy is not Multitask.ENQUEUE:
            # Created only if it takes the thread, in the same transaction.
            await self.threads.take(thread_id, record, strategy)
        else:
            await self.store.create_run(record)
        self.table.launch(run)
        return run

    async def submit(self, graph: CompiledGraph | Graph | str,
                     input: dict[str, Any] | None = None, **options: Any) -> RunView:
        """Queue a run for whichever process of the cluster has capacity; its view
        (status ``pending``). Same arguments as :meth:`start`. Without a cluster, the
        run starts here."""
        if self.cluster is None or options.get("thread_id") is not None:
            # A thread's turns are ordered by the process that takes the thread.
            return RunView.of_run(await self.start(graph, input, **options))
        run, record, _ = await self._new_run(graph, input, **options)
        record.owner = None
        await self.store.create_run(record)
        assert self.leases is not None
        self.leases.wake()
        return RunView.of_record(record)

    async def _new_run(self, graph: CompiledGraph | Graph | str,
                       input: dict[str, Any] | None = None,
                       *, run_id: str | None = None, timeout: float | None = None,
                       max_steps: int | None = None, config: dict[str, Any] | None = None,
                       interrupt_before: list[str] | None = None,
                       interrupt_after: list[str] | None = None,
                       parent_run_id: str | None = None, thread_id: str | None = None,
                       tenant: str = DEFAULT_TENANT, bounds: RunBounds | None = None,
                       multitask: Multitask | str = Multitask.REJECT,
                       trace_parent: Mapping[str, str] | None = None, **options: Any
                       ) -> tuple[Run, RunRecord, Multitask]:
        """A new run's handle and record (not yet stored, not launched)."""
        self._check_open()
        record: GraphRecord | None = None
        if isinstance(graph, str):
            compiled, record = await self.load_graph(graph, tenant=tenant)
        elif isinstance(graph, Graph):
            compiled = graph.compile()
        else:
            compiled = graph
        version = self.graphs.adopt(compiled)
        for name in [*(interrupt_before or []), *(interrupt_after or [])]:
            if name not in compiled.nodes:
                raise GraphError(f"cannot interrupt at {name!r}: graph {compiled.name!r} has no "
                                 f"such node (nodes: {', '.join(compiled.nodes)})")
        rid = run_id or new_run_id()
        self._check_input(compiled, input, rid)
        strategy = Multitask(multitask)
        if thread_id is not None:
            await self.threads.ensure(thread_id, compiled.name)
            options["thread_id"] = thread_id
        state = new_state(compiled.name, rid, dict(input or {}), dict(config or {}))
        opts = {"timeout": timeout, "max_steps": max_steps,
                "interrupt_before": list(interrupt_before or []),
                "interrupt_after": list(interrupt_after or []), **options,
                "graph_version": version}
        parent = tracing.capture_parent(trace_parent)
        if parent is not None:   # kept with the run: its resumption continues the trace
            opts["trace_parent"] = parent
        if bounds is not None:   # (None is the common case: no RunBounds to compare)
            held = RunBounds.coerce(bounds)
            if held != RunBounds():
                opts["bounds"] = held.to_options()
        if self.store.durable and record is None and "graph_def" not in opts:
            # The run carries its graph, so a new process can resume it after a crash.
            definition = compiled.definition()
            if definition is not None:
                opts["graph_def"] = definition
        run = Run.from_options(compiled, state, opts, store=self.store,
                               graph_id=record.id if record else None, owner=self.instance_id)
        record_of_run = new_run_record(
            id=rid, graph_id=run.graph_id, graph_name=compiled.name,
            initial_state=state.model_dump(mode="json", fallback=repr), owner=self.instance_id,
            parent_run_id=parent_run_id, options=opts, thread_id=thread_id, tenant=tenant,
            created_at=run.created_at,
        )
        return run, record_of_run, strategy

    def _check_input(self, compiled: CompiledGraph, input: dict[str, Any] | None,
                     run_id: str) -> None:
        """Refuse an input the graph's schema or a durable store would refuse later: the
        caller's mistake is named as theirs (field path), before any node runs."""
        if compiled.state_schema is not None:
            validate_input(compiled.state_schema, dict(input or {}), run_id)
        if self.store.durable and input:
            check_json(dict(input), "input", run_id)

    def _check_open(self) -> None:
        if self._tg is None or not self._accepting:
            raise RuntimeClosedError("the runtime is not running; use `async with Runtime()`")

    def get(self, run_id: str) -> Run:
        """A run of this runtime by id; raises RunNotFoundError."""
        run = self.table.get(run_id)
        if run is None:
            raise RunNotFoundError(f"no run {run_id!r} in this runtime", run_id=run_id)
        return run

    async def view(self, run_id: str) -> RunView:
        """The run as it is now: from memory while this process executes it, else from
        the store. Raises RunNotFoundError."""
        run = self.table.live(run_id)
        if run is not None:
            return RunView.of_run(run)
        record = await self.store.get_run(run_id)
        if record is None:
            raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)
        return RunView.of_record(record)

    async def wait(self, run_id: str, timeout: float | None = None) -> RunView:
        """Wait until the run stops (finished, or waiting for an answer) or ``timeout``
        passes; return its view. Works for runs executing here, in another process
        (re-read from the store now and then) or only stored. Returns at once for a run
        no process executes while this runtime shuts down. Raises RunNotFoundError."""
        with anyio.move_on_after(timeout):
            while True:
                run = self.table.live(run_id)
                if run is not None:
                    await run.wait()
                view = await self.view(run_id)
                if view.live:
                    continue  # resumed here meanwhile: wait for that run
                if view.stopped or not self._accepting:
                    return view
                await self.table.changed(run_id, self.table.poll_seconds)
        return await self.view(run_id)

    async def interrupts(self, run_id: str) -> list[dict[str, Any]]:
        """What the run waits for (``id``, ``kind``, ``node``, ``payload`` each): a paused
        run's interrupts, or the branches waiting while others still execute. Empty for a
        run that waits for nothing. Raises RunNotFoundError."""
        run = self.table.live(run_id)
        if run is not None:
            return run.interrupts
        return await waiting_interrupts(self, run_id)

    def runs(self, status: RunStatus | None = None) -> list[Run]:
        """Runs in this runtime's memory (most recent last), optionally by status."""
        return self.table.runs(status)

    def events(self, run_id: str, since: int = 0, *,
               buffer: int = DEFAULT_SUBSCRIBER_BUFFER) -> AsyncIterator[Event]:
        """Every event of a run from ``since``: replayed, then live, across pauses and
        resumes, until the run finishes. Works for runs only in the store too.

        Raises RunNotFoundError for an unknown run, SubscriberLagged for a reader that
        falls more than ``buffer`` events behind a live run.
        """
        return self._feed.follow(run_id, since, buffer)

    async def cancel(self, run_id: str, *, wait: bool = True) -> RunStatus:
        """Cancel a run. A run executing here is cancelled (its nodes' cleanup runs) and
        CANCELLED is returned when it has stopped (with ``wait=False``: at once, with the
        status it still has while it stops); a run that waits for an answer (or that no
        process executes) is marked cancelled in the store.

        Raises RunNotFoundError, or RunFinishedError if the run already finished.
        """
        run = self.table.live(run_id)
        if run is not None:
            run.cancel()
            if wait:
                await run.wait()
            return run.status
        status = await cancel_stored(self, run_id)
        if self.leases is not None:
            # Ended in the store (its lease revoked); its executor, if any, stops now.
            await self.leases.store.notify(CONTROL_CHANNEL, run_id)
        return status

    # -- human in the loop ------------------------------------------------------------------
    async def resume(self, run_id: str, answer: Any = None, *,
                     interrupt_id: str | None = None) -> Run:
        """Answer what a run waits for; return the handle of the run going on.

        Raises InvalidResume for an unknown or already answered interrupt id, an
        answer that fails the interrupt's schema, or a run that is not waiting.
        With a durable store it returns once the answer is committed: an acknowledged
        answer survives a crash. A paused run's answer is committed as a step of its
        own before the run goes on (whether it starts at once or waits for a slot);
        a running run's with its next checkpoint. Raises InvalidResume when the run
        stopped (cancelled, failed, shut down) before it took the answer.
        """
        self._check_open()
        run = self.table.live(run_id)
        if run is not None and run.supervisor.accepting_resume:
            run.resume(answer, interrupt_id=interrupt_id)
            if not await run.supervisor.answers_recorded():
                raise InvalidResume(
                    f"run {run_id} stopped ({run.status.value}) before it took the answer, "
                    "which was not recorded; look at its status and answer again if it "
                    "still waits", run_id=run_id)
            return run
        if run is not None:
            await run.wait()  # stopping right now: answer it from its checkpoint
        return await resume_stored(self, run_id, answer, interrupt_id)

    # -- history and time travel ---------------------------------------------------------------
    async def history(self, run_id: str, *, after: int = -1,
                      limit: int | None = None) -> list[Checkpoint]:
        """The run's checkpoints after step ``after``, oldest first, at most ``limit``
        (None: all), each with its full state; step 0 is the run's input (see
        :func:`runtime.timetravel.history`)."""
        return await history(self.store, run_id, after=after, limit=limit)

    async def subgraph_runs(self, run_id: str) -> list[str]:
        """The ids under which ``run_id``'s subgraphs kept their steps
        (``<run>/<node>:<activation>``, nested ones after their parent): ``history``,
        ``get_state`` and ``fork`` take them like run ids. Raises RunNotFoundError."""
        record = await self.store.get_run(run_id)
        if record is None:
            raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)
        return await child_runs(self.store, run_id, await self.graphs.of_run(record))

    async def get_state(self, run_id: str, step: int | None = None) -> WorkflowState:
        """The state after ``step`` (default: the latest checkpoint)."""
        return await get_state(self, run_id, step)

    async def update_state(self, run_id: str, values: dict[str, Any], *,
                           as_node: str | None = None) -> Checkpoint:
        """Edit a stopped run's state as if ``as_node`` had written ``values``."""
        return await update_state(self, run_id, values, as_node)

    async def fork(self, run_id: str, step: int | None = None, *,
                   values: dict[str, Any] | None = None) -> Run:
        """A new run going on from checkpoint ``step`` of ``run_id`` (the original is
        untouched); ``values`` edit the state first."""
        self._check_open()
        return await fork(self, run_id, step, values=values)

    async def replay(self, run_id: str, step: int | None = None) -> Run:
        """Run a finished run again, from its start or from checkpoint ``step``, with the
        same inputs; the new run records that it replays ``run_id``."""
        self._check_open()
        return await replay(self, run_id, step)
