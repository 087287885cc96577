"""The store protocol: where graphs, runs, checkpoints and events are kept.

Implementations: :class:`MemoryStore` (tests, throwaway use), SQLite (the
embedded default) and PostgreSQL (production), the last two through
``databases``. Every method is one complete unit of work, so a store can run
its database calls on another event loop (trio embedding).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from ..events import Event
from ..failure import RunFailure
from ..position import Position, decode, encode
from ..status import RunStatus

__all__ = ["DEFAULT_TENANT", "Checkpoint", "GraphRecord", "RunRecord", "Store", "ThreadRecord",
           "utcnow"]

#: The tenant of everything created without one (embedding, `make run`, auth off).
DEFAULT_TENANT = "default"


def utcnow() -> datetime:
    return datetime.now(UTC)


class GraphRecord(BaseModel):
    """A stored graph definition (the seed's ``graphs`` row)."""

    id: str
    name: str
    description: str = ""
    definition: dict[str, Any]          # the full JSON form (GraphDef)
    #: Who owns it: the API shows a graph only to principals of this tenant.
    tenant: str = DEFAULT_TENANT
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def nodes(self) -> list[Any]:
        return list(self.definition.get("nodes", []))

    @property
    def edges(self) -> list[Any]:
        return list(self.definition.get("edges", []))

    @property
    def entry_point(self) -> str | None:
        return self.definition.get("entry_point")


class RunRecord(BaseModel):
    """A stored run (the seed's ``runs`` row plus what recovery needs)."""

    id: str
    graph_id: str | None = None
    graph_name: str
    status: RunStatus = RunStatus.PENDING
    initial_state: dict[str, Any] = Field(default_factory=dict)
    current_state: dict[str, Any] | None = None
    final_state: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    failure: RunFailure | None = None  # a failed run's exception, node, attempt, traceback
    options: dict[str, Any] = Field(default_factory=dict)   # timeout, max_steps, ...
    parent_run_id: str | None = None
    thread_id: str | None = None      # the conversation (thread) it is a turn of
    owner: str | None = None          # runtime instance currently executing it
    interruptions: int = 0            # times a crash interrupted it
    #: Who owns it (forks and replays inherit it): the API's tenant filter reads it.
    tenant: str = DEFAULT_TENANT
    lease_epoch: int = 0              # claims so far (runtime.lease): fences stale writers
    lease_until: datetime | None = None  # the owner's lease holds until then (None: none)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class ThreadRecord(BaseModel):
    """A conversation over many runs (see :mod:`runtime.threads`).

    ``writer`` is the run that holds the thread (or last held it): at most one run
    of a thread is active (pending, running or waiting) at a time. ``state`` is the
    data a thread starts from before any run of its own completed (a copy's)."""

    id: str
    #: Whose thread it is: the API shows it only to principals of this tenant.
    tenant: str = DEFAULT_TENANT
    graph_name: str | None = None
    state: dict[str, Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    copied_from: str | None = None
    writer: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Checkpoint(BaseModel):
    """The run after one step: enough to resume it exactly there.

    ``state`` is the whole WorkflowState dump; ``changed`` the data keys this
    step wrote (stores keep deltas plus periodic snapshots). ``position`` is where
    the run is besides its state (pending activations, waiting branches, open
    frames, counters): a typed, versioned model that stores write and read only
    through :mod:`runtime.position`. None when nothing was recorded.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run_id: str
    step: int
    nodes: list[str] = Field(default_factory=list)
    state: dict[str, Any]
    changed: dict[str, Any] = Field(default_factory=dict)
    position: Position | None = None
    next_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)

    # Dumped and read back in its one JSON form (runtime.position), like the stores do.
    @field_serializer("position")
    def _dump_position(self, position: Position | None) -> dict[str, Any] | None:
        return None if position is None else encode(position)

    @field_validator("position", mode="before")
    @classmethod
    def _read_position(cls, value: Any) -> Any:
        return decode(value) if isinstance(value, dict) else value


@runtime_checkable
class Store(Protocol):
    """What the runtime needs from a store. All methods are safe to call concurrently."""

    url: str
    #: True when checkpoints survive the process (runs can resume after a crash).
    durable: bool

    async def open(self) -> None:
        """Connect and apply migrations (idempotent, safe for concurrent starts)."""

    async def close(self) -> None:
        """Flush pending writes and disconnect."""

    # graphs
    async def save_graph(self, record: GraphRecord) -> GraphRecord:
        """Insert a graph. Raises StoreError subclass GraphExistsError when its tenant
        already has a graph of that name (names are unique per tenant)."""

    async def get_graph(self, key: str, *, tenant: str | None = None) -> GraphRecord | None:
        """By id, or else by name: ``tenant``'s graph of that name when given, else the
        default tenant's (then the oldest of any tenant's)."""

    async def list_graphs(self, *, limit: int = 100, offset: int = 0,
                          tenant: str | None = None) -> list[GraphRecord]:
        """Graphs, oldest first; only ``tenant``'s when given."""

    async def delete_graph(self, key: str) -> bool: ...

    # runs
    async def create_run(self, record: RunRecord) -> None: ...

    async def update_run(self, run_id: str, **fields: Any) -> None:
        """Set the given RunRecord fields (and ``updated_at``); durable once it returns,
        with every write queued before it (a run's events included: Run relies on it)."""

    async def get_run(self, run_id: str) -> RunRecord | None: ...

    async def list_runs(
        self, *, status: str | None = None, graph_id: str | None = None,
        limit: int = 100, offset: int = 0, thread_id: str | None = None,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first (a page at a time), optionally by status, graph, thread
        and tenant."""

    async def count_runs(self, status: str) -> int:
        """How many runs have ``status`` (for metrics: runs waiting hold no process)."""

    async def count_runs_by_status(self, statuses: Sequence[str], *,
                                   tenant: str | None = None) -> dict[str, int]:
        """How many runs (of ``tenant``, when given) have each of ``statuses``, in one
        query; a status with none is 0 (admission checks count without listing)."""

    async def claim_orphaned_runs(self, owner: str, *,
                                  alive: Callable[[str], bool] | None = None
                                  ) -> list[RunRecord]:
        """Runs left ``running``/``pending`` by an owner that is gone; mark them ours and
        count the interruption. Every other owner is taken as gone, except those
        ``alive(owner)`` says are still executing (another process on this host)."""

    async def owners_of_active_runs(self, besides: str) -> list[str]:
        """The distinct owners, other than ``besides``, of the runs ``running`` or
        ``pending`` that no lease holds now (none, or one run out: an ``actorflow run``
        on a cluster's database leases its run) (one read; a watch for processes that
        are gone asks it now and then, :func:`runtime.recovery.adopt_orphans`)."""

    async def adopt_runs(self, owners: Sequence[str], owner: str) -> list[RunRecord]:
        """Make ``owner`` the owner of the runs ``running`` or ``pending`` (no lease
        holding them now; a lease run out is cleared) that one of ``owners`` still owns,
        counting the interruption of
        each that was running: one conditional update, so of two processes adopting the
        same run, one gets it (the other finds its owner changed)."""

    # threads
    async def create_thread(self, record: ThreadRecord) -> ThreadRecord:
        """Insert a thread. Raises ThreadExistsError on a duplicate id."""

    async def get_thread(self, thread_id: str) -> ThreadRecord | None: ...

    async def list_threads(self, *, limit: int = 100, offset: int = 0,
                           tenant: str | None = None) -> list[ThreadRecord]:
        """Threads (of ``tenant``, if given), newest first, a page at a time."""

    async def claim_thread(self, thread_id: str, run_id: str, *,
                           create: RunRecord | None = None) -> str | None:
        """Make ``run_id`` the thread's writer unless another run of it is active
        (pending, running or waiting); return None when ``run_id`` holds it, else the
        holder's id (``""``: no such thread). ``create`` inserts the run's record in the
        same transaction, only if the claim succeeds. Atomic in the database: two
        processes never both hold a thread."""

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread and its runs (their checkpoints, subgraph steps, events
        and logs). False when there was no such thread."""

    # checkpoints
    async def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Durable when it returns. Group-committed with other runs' writes.

        Saving step ``n`` forks the run's history there: its checkpoints after ``n``
        are deleted (a run rewound by a restore writes a new future)."""

    async def queue_checkpoint(self, checkpoint: Checkpoint) -> int:
        """Queue a checkpoint for the next group commit; return its *mark*. Waits only
        while the store's writer is backed up, never for the commit: the checkpoint is
        durable once :meth:`wait_committed` returns for the mark. Raises StoreError when an
        earlier write of the run was refused."""

    async def wait_committed(self, run_id: str, mark: int | None = None) -> None:
        """Wait until the writes queued up to ``mark`` (default: everything queued so
        far) are committed. Raises StoreError if a write of ``run_id`` was refused,
        StoreUnavailableError if the database stays away past the store's timeout."""

    async def latest_checkpoint(self, run_id: str) -> Checkpoint | None: ...

    async def list_checkpoints(self, run_id: str, *, after: int = -1,
                               limit: int | None = None) -> list[Checkpoint]:
        """The run's checkpoints after step ``after``, oldest first, at most ``limit``
        (None: all), each with its full state: a page of a history whose states may
        be large (a page costs its own states plus one bounded chain replay)."""

    async def get_checkpoint(self, run_id: str, step: int) -> Checkpoint | None: ...

    # events
    def append_event(self, event: Event) -> None:
        """Queue an event for writing; never waits (the writer batches)."""

    async def read_events(self, run_id: str, since: int = 0, until: int | None = None) -> list[Event]: ...

    async def list_logs(self, run_id: str, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """The seed's execution_logs rows: node, status, timestamp, input/output state, error."""

    async def flush(self) -> None:
        """Wait until every queued write is durable."""

    async def prune(self, *, older_than_seconds: float) -> int:
        """Delete finished runs (and their checkpoints, events, logs) older than that."""

    async def healthy(self) -> bool: ...

    # a small cache (LLM responses): JSON values by namespace and key
    async def cache_get(self, namespace: str, key: str) -> Any | None:
        """The cached JSON value, or None."""

    def cache_set(self, namespace: str, key: str, value: Any) -> None:
        """Cache a JSON value; written with the next commit, never waits."""
