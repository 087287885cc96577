"""SQLStore: the Store protocol on SQLite (aiosqlite) or PostgreSQL (asyncpg).

All database work runs on the store's asyncio loop (:mod:`.portal`): the
opener's own loop under asyncio, a private loop in one worker thread under
trio; the code is the same either way. Writes
that may be batched (checkpoints, events, run rows) go through the single
group-committing :class:`~.writer.Writer`; reads and rare writes (graphs,
prune, claims) are single units of work with retries (:mod:`.db`).
Checkpoints are stored as deltas plus periodic snapshots (:mod:`.delta`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Self, TypeVar

import anyio

from ..errors import StoreError, StoreUnavailableError
from ..events import Event
from ..status import ACTIVE, FINISHED, RunStatus
from .access_sql import SQLAccess
from .availability import Availability, holding
from .base import DEFAULT_TENANT, Checkpoint, GraphRecord, RunRecord, ThreadRecord, utcnow
from .checkpoints import checkpoint_stmts, fetch_chain, fetch_page, rebuild, storage_query
from .db import Db, Session
from .delta import BaseCache
from .durability import DEFAULT_DURABILITY, Durability, check_durability, pg_settings
from .spacing import Spacing
from .errors import GraphExistsError, ThreadExistsError
from .listener import Listener
from .migrations import migrate
from .portal import StoreLoop
from .renewer import Beat, Renewer
from .queue import (
    EVENTS_CHANNEL,
    FENCE,
    NOTIFY_CHANNEL,
    NOTIFY_RUN,
    RELEASE,
    STARTED,
    acquire,
    claim,
    hold,
    renew,
    revoke,
)
from .rows import (
    INSERT_EVENT,
    INSERT_RUN,
    event_from_row,
    event_row,
    event_stmts,
    logs_query,
    graph_from_row,
    graph_params,
    log_from_row,
    run_from_row,
    run_params,
    run_update,
)
from .schema import POSTGRES, SQLITE, dumps, loads
from .threads import claim as claim_thread_sql
from .threads import delete as delete_thread_sql
from .threads import insert as insert_thread_sql
from .threads import thread_from_row
from .writer import Op, Writer, WriterStats

__all__ = ["SQLStore"]

T = TypeVar("T")
log = logging.getLogger("actorflow.store")
_RUN_FIELDS = frozenset(RunRecord.model_fields) - {"id"}
_ACTIVE = ", ".join(sorted(f"'{s.value}'" for s in ACTIVE))
_FINISHED = ", ".join(sorted(f"'{s.value}'" for s in FINISHED))
#: Runs a process executes (or holds for a slot): what its crash leaves to resume.
_RESUMABLE = f"'{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}'"


UPSERT_CACHE = (
    "INSERT INTO kv_cache (namespace, cache_key, value, created_at) VALUES (:n, :k, :v, :at) "
    "ON CONFLICT (namespace, cache_key) DO UPDATE SET value = excluded.value, "
    "created_at = excluded.created_at"
)


class SQLStore(SQLAccess):
    """A durable store. ``url``: ``sqlite:///path.db`` or ``postgresql://user@host/db``.

    ``pool_min``/``pool_max``/``pool_idle_lifetime`` size the asyncpg pool (idle
    connections are closed and replaced before servers or proxies kill them);
    ``snapshot_every`` and ``max_chain``: the fewest and the most deltas between two
    full-state checkpoints (see :mod:`.spacing`: in between, a snapshot comes once
    the deltas since the last one take as many bytes as it did); ``unavailable_timeout`` is
    how long callers wait on an unreachable database before StoreUnavailableError;
    ``max_queue`` bounds the writer's queue; ``durability`` is ``"process"`` (survives
    a crash of this process, the default) or ``"power"`` (also power loss; see
    :mod:`.durability`); ``options`` go to ``databases``.
    """

    #: Checkpoints survive the process: interrupted runs resume from them.
    durable = True

    def __init__(self, url: str, *, pool_min: int = 1, pool_max: int = 10,
                 pool_idle_lifetime: float = 300.0, snapshot_every: int = 20,
                 max_chain: int = 1000,
                 unavailable_timeout: float = 30.0, connect_timeout: float = 10.0,
                 busy_timeout: float = 5.0, max_queue: int = 10_000,
                 durability: str = DEFAULT_DURABILITY,
                 options: dict[str, Any] | None = None) -> None:
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        self.url = url
        self.dialect = POSTGRES if url.startswith("postgresql") else SQLITE
        if not self.dialect.postgres and not url.startswith("sqlite"):
            raise ValueError(f"SQLStore needs a sqlite:/// or postgresql:// URL, not {url!r}")
        #: What a commit survives (``"process"`` or ``"power"``).
        self.durability: Durability = check_durability(durability)
        opts: dict[str, Any] = {}
        if self.dialect.postgres:
            opts.update(min_size=pool_min, max_size=pool_max,
                        max_inactive_connection_lifetime=pool_idle_lifetime,
                        timeout=min(connect_timeout, unavailable_timeout))
        opts.update(options or {})
        if self.dialect.postgres:
            # Every pooled connection's session: the level decides, over the server's
            # configuration (the caller's own server_settings are kept).
            opts["server_settings"] = {**pg_settings(self.durability),
                                       **opts.get("server_settings", {})}
        self.snapshot_every = max(1, snapshot_every)
        self.spacing = Spacing(self.snapshot_every, max(self.snapshot_every, max_chain))
        self.max_queue = max_queue
        self._db = Db(url, self.dialect, opts, unavailable_timeout=unavailable_timeout,
                      busy_timeout=busy_timeout, durability=self.durability)
        self._home = StoreLoop(f"actorflow-store-{self.dialect.name}")
        self._writer: Writer | None = None
        self._bases = BaseCache()
        #: run id -> epoch of each lease this process holds (runtime.lease): every write
        #: of such a run proves that epoch first, and the database refuses a stale one.
        self.fences: dict[str, int] = {}
        self._notify_changes = False
        self._listener: Listener | None = None

    @property
    def availability(self) -> Availability:
        """Whether the database is reachable, and since when it is not."""
        return self._db.availability

    @property
    def stats(self) -> WriterStats:
        """Writer counters (``commits``, ``ops``, ``max_batch``, ``retries``, ``failed``)."""
        return self._writer.stats if self._writer is not None else WriterStats()

    # lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        await self._home.start()
        db = self._db

        async def start() -> Writer:
            await db.connect()
            writer: Writer | None = None
            try:
                await db.run(migrate, writer=True)
                writer = Writer(db, self._home.loop, max_queue=self.max_queue,
                                unavailable_timeout=db.unavailable_timeout)
                await writer.start()
            finally:
                if writer is None:  # migration failed: don't leave a pool behind
                    await db.disconnect()
            return writer

        opened = False
        try:
            self._writer = await self._home.call(start)
            opened = True
        finally:
            if not opened:
                with anyio.move_on_after(10, shield=True):
                    await self._home.stop()

    async def close(self) -> None:
        """Write what is queued (bounded wait), disconnect, stop the worker thread."""
        if not self._home.running:
            return
        writer, db = self._writer, self._db
        self._writer = None

        listener, self._listener = self._listener, None

        async def shutdown() -> None:
            try:
                if listener is not None:
                    await listener.stop()
                if writer is not None:
                    await writer.stop(timeout=min(db.unavailable_timeout, 10.0))
            finally:
                await db.disconnect()

        try:
            with anyio.move_on_after(30, shield=True):
                await self._home.call(shutdown)
        finally:
            with anyio.move_on_after(10, shield=True):
                await self._home.stop()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # plumbing ---------------------------------------------------------------

    def _w(self) -> Writer:
        if self._writer is None:
            raise StoreError(f"the store {self.url} is not open; call await store.open()")
        return self._writer

    async def _run(self, unit: Callable[[Session], Awaitable[T]], *, writer: bool = False) -> T:
        """One unit of work on the worker loop, retried on transient errors: through an
        outage in a run's task, else until it is confirmed (:mod:`.availability`)."""
        self._w()
        db, hold = self._db, holding()
        if not hold and db.availability.confirmed:
            # One attempt, no retry loop: the first to succeed ends the outage.
            return await self._home.call(lambda: db.run(unit, writer=writer, deadline=0.0))
        return await self._home.call(lambda: db.run(unit, writer=writer, hold=hold))

    # graphs -----------------------------------------------------------------

    async def save_graph(self, record: GraphRecord) -> GraphRecord:
        params = graph_params(self.dialect, record)

        async def insert(s: Session) -> bool:
            async with s.transaction():
                taken = await s.fetch(
                    "SELECT id FROM graphs WHERE (name = :name AND tenant = :tenant) OR id = :id",
                    {"name": record.name, "tenant": record.tenant, "id": record.id})
                if taken:
                    return False
                await s.execute(
                    "INSERT INTO graphs (id, name, description, nodes, edges, entry_point, "
                    "definition, tenant, created_at, updated_at) VALUES (:id, :name, "
                    ":description, :nodes, :edges, :entry_point, :definition, :tenant, "
                    ":created_at, :updated_at)",
                    params)
                return True

        try:
            inserted = await self._run(insert, writer=True)
        except StoreError:
            raise
        except Exception as exc:  # a concurrent insert won the unique index race
            if "unique" in str(exc).lower():
                raise GraphExistsError(record.name) from exc
            raise StoreError(f"save_graph failed: {type(exc).__name__}: {exc}") from exc
        if not inserted:
            raise GraphExistsError(record.name)
        return record.model_copy(deep=True)

    async def get_graph(self, key: str, *, tenant: str | None = None) -> GraphRecord | None:
        # An id names one graph whoever asks (the API checks the tenant and answers 404);
        # a name is only unique within a tenant.
        params = {"k": key, "t": DEFAULT_TENANT if tenant is None else tenant}
        own = "name = :k AND tenant = :t" if tenant is not None else "name = :k"

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(
                f"SELECT * FROM graphs WHERE id = :k OR ({own}) ORDER BY CASE WHEN id = :k "
                "THEN 0 WHEN tenant = :t THEN 1 ELSE 2 END, created_at, id LIMIT 1", params)

        rows = await self._run(get)
        return graph_from_row(self.dialect, rows[0]) if rows else None

    async def list_graphs(self, *, limit: int = 100, offset: int = 0,
                          tenant: str | None = None) -> list[GraphRecord]:
        where = "" if tenant is None else "WHERE tenant = :tenant "
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if tenant is not None:
            params["tenant"] = tenant

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(f"SELECT * FROM graphs {where}ORDER BY created_at, id "
                                 "LIMIT :limit OFFSET :offset", params)

        return [graph_from_row(self.dialect, r) for r in await self._run(get)]

    async def delete_graph(self, key: str) -> bool:
        found = await self.get_graph(key)
        if found is None:
            return False

        async def delete(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("DELETE FROM graphs WHERE id = :id RETURNING id", {"id": found.id})

        return bool(await self._run(delete, writer=True))

    # runs -------------------------------------------------------------------

    async def create_run(self, record: RunRecord) -> None:
        stmts = [(INSERT_RUN, run_params(self.dialect, record))]
        if record.owner is None and self.dialect.postgres:
            stmts.append((f"NOTIFY {NOTIFY_CHANNEL}", {}))  # queued: wake the claimers
        if record.lease_epoch:
            self.fences[record.id] = record.lease_epoch
        # A new top-level run's row needs nothing queued before it, and nothing queued
        # before it needs it: committed on its own (express), its caller (a start)
        # does not wait for every other run's queued steps to be written with it. A
        # forked or resumed run (``parent_run_id``) or a thread's turn keeps its place.
        # SQLite only: there every statement of a batch hands SQLite's thread the GIL;
        # PostgreSQL's batch is one round trip, and a commit of its own per start cost
        # W4's 100 concurrent runs ~30 % of their steps per second on asyncio.
        express = (not self.dialect.postgres and record.parent_run_id is None
                   and record.thread_id is None)
        await self._w().put(Op(stmts, ordered=True, run_id=record.id, express=express))

    def _fenced(self, run_id: str, stmts: list[tuple[str, dict[str, Any]]]
                ) -> list[tuple[str, dict[str, Any]]]:
        if self._notify_changes:
            stmts = [*stmts, (NOTIFY_RUN, {"channel": EVENTS_CHANNEL, "run_id": run_id})]
        epoch = self.fences.get(run_id)
        if epoch is None:
            return stmts
        return [(FENCE, {"run_id": run_id, "epoch": epoch}), *stmts]

    # notifications between processes (PostgreSQL) -------------------------------

    async def listen(self, channels: dict[str, Callable[[str], None]],
                     on_reconnect: Callable[[], None] | None = None) -> bool:
        """Call ``channels[name](payload)`` for each NOTIFY on ``name`` until the store
        closes, on one dedicated connection (opened again when it drops, after which
        ``on_reconnect()`` is called: what was sent meanwhile is lost, re-read the
        database); from now on every write of a run also notifies ``actorflow_events``
        with its id. Callbacks run on the store's loop (see
        :func:`~.portal.threadsafe_caller`). False (and nothing) on SQLite."""
        if not self.dialect.postgres:
            return False
        listener = Listener(self._db, channels, on_reconnect)
        self._w()
        await self._home.call(listener.start)
        self._listener = listener
        self._notify_changes = True
        return True

    async def notify(self, channel: str, payload: str) -> None:
        """Send a notification to every process listening on ``channel`` (PostgreSQL)."""
        if not self.dialect.postgres:
            return

        async def send(s: Session) -> None:
            await s.execute("SELECT pg_notify(:channel, :payload)",
                            {"channel": channel, "payload": payload})

        await self._run(send, writer=True)

    async def update_run(self, run_id: str, **fields: Any) -> None:
        """Set fields of a run; an unknown run is ignored (it is an SQL UPDATE)."""
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise StoreError(f"update_run: unknown RunRecord field(s) {sorted(unknown)}")
        fields.setdefault("updated_at", utcnow())
        if "status" in fields and RunStatus(fields["status"]).finished:
            self._bases.drop(run_id)  # no more checkpoints: free the delta base
        # A final status from a process that holds no lease on the run (a cancel sent to
        # another instance) ends any lease: the run's executor is fenced off and stops.
        also = (revoke() if "status" in fields and RunStatus(fields["status"]).finished
                and run_id not in self.fences else "")
        stmt = run_update(self.dialect, run_id, fields, also=also)
        await self._w().put(Op(self._fenced(run_id, [stmt]), ordered=True, run_id=run_id))

    async def get_run(self, run_id: str) -> RunRecord | None:
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("SELECT * FROM runs WHERE id = :id", {"id": run_id})

        rows = await self._run(get)
        return run_from_row(self.dialect, rows[0]) if rows else None

    async def list_runs(self, *, status: str | None = None, graph_id: str | None = None,
                        limit: int = 100, offset: int = 0,
                        thread_id: str | None = None,
                        tenant: str | None = None) -> list[RunRecord]:
        where = ["1 = 1"]
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if thread_id is not None:
            where.append("thread_id = :thread_id")
            params["thread_id"] = thread_id
        if tenant is not None:
            where.append("tenant = :tenant")
            params["tenant"] = tenant
        if status is not None:
            where.append("status = :status")
            params["status"] = RunStatus(status).value
        if graph_id is not None:
            where.append("graph_id = :graph_id")
            params["graph_id"] = graph_id
        sql = (f"SELECT * FROM runs WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC "
               "LIMIT :limit OFFSET :offset")

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(sql, params)

        return [run_from_row(self.dialect, r) for r in await self._run(get)]

    async def count_runs(self, status: str) -> int:
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("SELECT COUNT(*) AS n FROM runs WHERE status = :status",
                                 {"status": status})

        return int((await self._run(get))[0]["n"])

    async def count_runs_by_status(self, statuses: Sequence[str], *,
                                   tenant: str | None = None) -> dict[str, int]:
        wanted = [RunStatus(x).value for x in statuses]
        params: dict[str, Any] = {f"s{i}": x for i, x in enumerate(wanted)}
        where = f"status IN ({', '.join(':' + k for k in params)})"
        if tenant is not None:
            where += " AND tenant = :tenant"
            params["tenant"] = tenant
        sql = f"SELECT status, COUNT(*) AS n FROM runs WHERE {where} GROUP BY status"

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(sql, params)

        counts = dict.fromkeys(wanted, 0)
        for row in await self._run(get):
            counts[str(row["status"])] = int(row["n"])
        return counts

    async def claim_orphaned_runs(self, owner: str, *,
                                  alive: Callable[[str], bool] | None = None
                                  ) -> list[RunRecord]:
        await self.flush()

        async def claim(s: Session) -> list[dict[str, Any]]:
            params: dict[str, Any] = {"owner": owner, "now": self.dialect.ts(utcnow())}
            async with s.transaction():
                spared = ""
                if alive is not None:
                    # Owners still executing their runs (another live process on this
                    # host) keep them; asked inside the transaction that claims.
                    rows = await s.fetch(
                        f"SELECT DISTINCT owner FROM runs WHERE status IN ({_ACTIVE}) "
                        "AND owner IS NOT NULL AND owner <> :owner", {"owner": owner})
                    live = [str(r["owner"]) for r in rows if alive(str(r["owner"]))]
                    params.update({f"spare{i}": name for i, name in enumerate(live)})
                    if live:
                        names = ", ".join(f":spare{i}" for i in range(len(live)))
                        spared = f"AND (owner IS NULL OR owner NOT IN ({names})) "
                return await s.fetch(
                    "UPDATE runs SET owner = :owner, updated_at = :now, interruptions = "
                    f"interruptions + CASE WHEN status = '{RunStatus.RUNNING.value}' THEN 1 "
                    "ELSE 0 END "
                    f"WHERE status IN ({_ACTIVE}) AND (owner IS NULL OR owner <> :owner) "
                    f"{spared}RETURNING *", params)

        runs = [run_from_row(self.dialect, r) for r in await self._run(claim, writer=True)]
        return sorted(runs, key=lambda r: (r.created_at, r.id))

    async def owners_of_active_runs(self, besides: str) -> list[str]:
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(
                f"SELECT DISTINCT owner FROM runs WHERE status IN ({_RESUMABLE}) "
                "AND (lease_until IS NULL OR lease_until < :now) AND owner IS NOT NULL "
                "AND owner <> :besides",
                {"besides": besides, "now": self.dialect.ts(utcnow())})

        return sorted(str(r["owner"]) for r in await self._run(get))

    async def adopt_runs(self, owners: Sequence[str], owner: str) -> list[RunRecord]:
        if not owners:
            return []
        params: dict[str, Any] = {"owner": owner, "now": self.dialect.ts(utcnow()),
                                  "running": RunStatus.RUNNING.value}
        params.update({f"gone{i}": name for i, name in enumerate(owners)})
        names = ", ".join(f":gone{i}" for i in range(len(owners)))
        # The owner is in the WHERE clause: a run another process adopted (or resumed at
        # start) a moment ago no longer matches, on SQLite (writers in turn) as on
        # PostgreSQL (an UPDATE re-checks its WHERE on the row it waited for).
        sql = ("UPDATE runs SET owner = :owner, updated_at = :now, lease_until = NULL, "
               "interruptions = interruptions + CASE WHEN status = :running THEN 1 ELSE 0 "
               f"END WHERE status IN ({_RESUMABLE}) AND (lease_until IS NULL OR "
               f"lease_until < :now) AND owner IN ({names}) RETURNING *")

        async def claim(s: Session) -> list[dict[str, Any]]:
            async with s.transaction():
                return await s.fetch(sql, params)

        runs = [run_from_row(self.dialect, r) for r in await self._run(claim, writer=True)]
        return sorted(runs, key=lambda r: (r.created_at, r.id))

    # threads ----------------------------------------------------------------

    async def create_thread(self, record: ThreadRecord) -> ThreadRecord:
        d = self.dialect

        async def insert(s: Session) -> bool:
            return await insert_thread_sql(s, d, record)

        try:
            inserted = await self._run(insert, writer=True)
        except StoreError:
            raise
        except Exception as exc:  # a concurrent insert won the primary key race
            if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
                raise ThreadExistsError(record.id) from exc
            raise StoreError(f"create_thread failed: {type(exc).__name__}: {exc}") from exc
        if not inserted:
            raise ThreadExistsError(record.id)
        return record.model_copy(deep=True)

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("SELECT * FROM threads WHERE id = :id", {"id": thread_id})

        rows = await self._run(get)
        return thread_from_row(self.dialect, rows[0]) if rows else None

    async def list_threads(self, *, limit: int = 100, offset: int = 0,
                           tenant: str | None = None) -> list[ThreadRecord]:
        where = "" if tenant is None else "WHERE tenant = :tenant "
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if tenant is not None:
            params["tenant"] = tenant

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(f"SELECT * FROM threads {where}ORDER BY created_at DESC, "
                                 "id DESC LIMIT :limit OFFSET :offset", params)

        return [thread_from_row(self.dialect, r) for r in await self._run(get)]

    async def claim_thread(self, thread_id: str, run_id: str, *,
                           create: RunRecord | None = None) -> str | None:
        await self.flush()   # the runs whose status decides are written first
        d = self.dialect

        async def claim(s: Session) -> str | None:
            return await claim_thread_sql(s, d, thread_id, run_id, create)

        return await self._run(claim, writer=True)

    async def delete_thread(self, thread_id: str) -> bool:
        await self.flush()

        async def delete(s: Session) -> bool:
            return await delete_thread_sql(s, thread_id)

        return await self._run(delete, writer=True)

    # leases (runtime.lease; SQL in .queue) ------------------------------------

    async def claim_runs(self, owner: str, limit: int, lease: float,
                         graph_limits: Mapping[str, int] | None = None, *,
                         takeover: bool = True) -> list[RunRecord]:
        """Claim up to ``limit`` claimable runs for ``owner`` for ``lease`` seconds, no
        more runs of a graph named in ``graph_limits`` holding a lease than its limit
        (``takeover=False``: not those whose lease merely expired)."""
        now = utcnow()
        until = now + timedelta(seconds=lease)

        async def unit(s: Session) -> list[dict[str, Any]]:
            return await claim(s, owner, limit, now, until, graph_limits,
                               takeover=takeover)

        # PostgreSQL: on a pooled connection, not the writer's. A claim skips locked
        # rows and so never waits for a commit; on the writer's connection it would
        # wait for the group commit in progress, and that commit for it.
        rows = await self._run(unit, writer=not self.dialect.postgres)
        runs = [run_from_row(self.dialect, r) for r in rows]
        for r in runs:
            self.fences[r.id] = r.lease_epoch
        return sorted(runs, key=lambda r: (r.created_at, r.id))

    async def started_runs(self, run_ids: list[str]) -> set[str]:
        """Which of ``run_ids`` have a checkpoint or an event (one query for all)."""
        if not run_ids:
            return set()
        marks = {f"r{n}": run_id for n, run_id in enumerate(run_ids)}
        sql = STARTED.format(ids=", ".join(":" + k for k in marks))

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(sql, marks)

        return {str(r["run_id"]) for r in await self._run(get)}

    async def acquire_lease(self, run_id: str, owner: str, lease: float) -> int | None:
        """Take the lease of a run about to execute here; None if another holds it."""
        await self.flush()  # the run's own row first (create_run, a fork's checkpoint)
        now = utcnow()

        async def unit(s: Session) -> int | None:
            return await acquire(s, run_id, owner, now, now + timedelta(seconds=lease))

        epoch = await self._run(unit, writer=True)
        if epoch is not None:
            self.fences[run_id] = epoch
        return epoch

    async def hold_lease(self, run_id: str, lease: float) -> RunStatus | None:
        """Hold the lease of a run no process executes, for a change made in place of an
        executor (see :func:`.queue.hold`); its status, or None while another holds it."""
        await self.flush()
        now = utcnow()

        async def unit(s: Session) -> tuple[int, str] | None:
            return await hold(s, run_id, now, now + timedelta(seconds=lease))

        held = await self._run(unit, writer=True)
        if held is None:
            return None
        self.fences[run_id] = held[0]
        return RunStatus(held[1])

    async def renew_leases(self, owner: str, lease: float) -> dict[str, int]:
        """Extend ``owner``'s leases; run id -> epoch of each one still held."""
        until: datetime = utcnow() + timedelta(seconds=lease)

        async def unit(s: Session) -> dict[str, int]:
            return await renew(s, owner, until)

        return await self._run(unit, writer=True)

    def renewer(self, beat: Beat) -> Renewer:
        """The lease heartbeat: a thread and a connection of its own (not yet open)."""
        opts = dict(self._db.options)
        if self.dialect.postgres:
            opts.update(min_size=1, max_size=2)
        db = Db(self.url, self.dialect, opts, unavailable_timeout=self._db.unavailable_timeout,
                busy_timeout=self._db.busy_timeout)
        return Renewer(db, beat)

    async def release_lease(self, run_id: str, *, wake: bool = False) -> None:
        """Give back this process's lease on the run once its writes have landed: in
        the write queue after them (so in the same group commit or a later one), not
        a transaction of its own after a flush, which cost each run a round trip on
        the writer's connection, one run after another."""
        epoch = self.fences.get(run_id)
        if epoch is None:
            return
        stmts: list[tuple[str, dict[str, Any]]] = [(RELEASE, {"id": run_id, "epoch": epoch})]
        if wake and self.dialect.postgres:
            stmts.append((f"NOTIFY {NOTIFY_CHANNEL}", {}))
        try:
            await self._w().put(Op(stmts, ordered=True, run_id=run_id))
        finally:
            if self.fences.get(run_id) == epoch:
                del self.fences[run_id]

    # checkpoints ------------------------------------------------------------

    async def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        writer, op = self._w(), await self._queue_checkpoint(checkpoint)
        # Its own op: withdrawn during an outage (a caller that does not hold), the
        # caller hears it at once, not after the writes queued before it.
        await writer.wait(op.seq, op=op)
        self._refused(writer, checkpoint.run_id)

    async def queue_checkpoint(self, checkpoint: Checkpoint) -> int:
        """Queue the checkpoint for the next group commit and return its mark, waiting
        only while the writer's queue is full; it is durable once
        ``await wait_committed(run_id, mark)`` returns. Raises StoreError if an earlier
        write of the run was refused (its history stops there)."""
        return (await self._queue_checkpoint(checkpoint)).seq

    async def _queue_checkpoint(self, checkpoint: Checkpoint) -> Op:
        writer, c = self._w(), checkpoint
        self._refused(writer, c.run_id)
        stmts, chain = checkpoint_stmts(self.dialect, c, self._bases.get(c.run_id, c.step),
                                        self.spacing)
        snapshot = stmts[-1][1]["kind"] == "snapshot"
        stmts = self._fenced(c.run_id, stmts)
        self._bases.put(c.run_id, c.step, c.state, chain)
        # Not urgent: committed with whatever else arrives within the writer's linger,
        # or at once when somebody waits for it.
        op = Op(stmts, run_id=c.run_id, chain=True, snapshot=snapshot)
        await writer.enqueue(op, urgent=False)
        return op

    async def wait_committed(self, run_id: str, mark: int | None = None) -> None:
        """Wait until the writes queued up to ``mark`` (default: all so far) are
        committed; raise StoreError if one of the run's writes was refused, and
        StoreUnavailableError if the database stays away (the writes stay queued)."""
        writer = self._w()
        await writer.wait(writer.marked if mark is None else mark)
        self._refused(writer, run_id)

    def _refused(self, writer: Writer, run_id: str) -> None:
        cause = writer.failed_runs.pop(run_id, None)
        if cause is None:
            return
        # Its rows after the refused one are refused too (the writer's broken chain),
        # so whatever saves this run next starts over with a snapshot.
        self._bases.drop(run_id)
        if isinstance(cause, StoreUnavailableError):
            raise cause   # withdrawn in an outage: not written, retry later
        raise StoreError(f"a write of run {run_id} was refused: {cause}") from cause

    async def _chain(self, run_id: str, top: int | None) -> list[Checkpoint]:
        await self.flush()   # queued steps first: a reader sees every step taken so far
        rows = await self._run(lambda s: fetch_chain(s, run_id, top))
        return rebuild(self.dialect, rows, keep_all=top == -1)

    async def latest_checkpoint(self, run_id: str) -> Checkpoint | None:
        chain = await self._chain(run_id, None)
        return chain[-1] if chain else None

    async def list_checkpoints(self, run_id: str, *, after: int = -1,
                               limit: int | None = None) -> list[Checkpoint]:
        if after < 0 and limit is None:
            return await self._chain(run_id, -1)
        rows = await self._run(lambda s: fetch_page(s, run_id, after, limit))
        return rebuild(self.dialect, rows, keep_all=True, after=after)

    async def get_checkpoint(self, run_id: str, step: int) -> Checkpoint | None:
        chain = await self._chain(run_id, step)
        return chain[-1] if chain and chain[-1].step == step else None

    # events -----------------------------------------------------------------

    def append_event(self, event: Event) -> None:
        writer = self._w()
        if not self._notify_changes and event.run_id not in self.fences:
            # The common case, a plain row: no op, mark or lock per event.
            row = event_row(event)
            if row is not None:
                writer.put_row(INSERT_EVENT, row)
                return
        writer.put_nowait(Op(self._fenced(event.run_id, event_stmts(self.dialect, event)),
                             run_id=event.run_id), urgent=False)

    async def read_events(self, run_id: str, since: int = 0,
                          until: int | None = None) -> list[Event]:
        await self.flush()
        params: dict[str, Any] = {"r": run_id, "since": since, "until": until or 0}
        cond = "" if until is None else " AND seq < :until"
        sql = f"SELECT * FROM events WHERE run_id = :r AND seq >= :since{cond} ORDER BY seq"
        if until is None:
            params.pop("until")

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(sql, params)

        return [event_from_row(r) for r in await self._run(get)]

    async def list_logs(self, run_id: str, *, limit: int = 100,
                        offset: int = 0) -> list[dict[str, Any]]:
        await self.flush()

        sql = logs_query(self.dialect)

        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch(sql, {"r": run_id, "limit": limit, "offset": offset})

        return [log_from_row(self.dialect, r, offset + i + 1)
                for i, r in enumerate(await self._run(get))]

    async def flush(self) -> None:
        await self._w().flush()

    async def cache_get(self, namespace: str, key: str) -> Any | None:
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("SELECT value FROM kv_cache WHERE namespace = :n AND "
                                 "cache_key = :k", {"n": namespace, "k": key})

        rows = await self._run(get)
        return loads(rows[0]["value"]) if rows else None

    def cache_set(self, namespace: str, key: str, value: Any) -> None:
        self._w().put_nowait(Op([(UPSERT_CACHE, {
            "n": namespace, "k": key, "v": dumps(value), "at": self.dialect.ts(utcnow()),
        })]), urgent=False)

    async def prune(self, *, older_than_seconds: float) -> int:
        await self.flush()
        cutoff = self.dialect.ts(utcnow() - timedelta(seconds=older_than_seconds))
        doomed = (f"SELECT id FROM runs WHERE status IN ({_FINISHED}) "
                  "AND COALESCE(completed_at, updated_at) < :cutoff")

        async def delete(s: Session) -> int:
            async with s.transaction():
                for table in ("checkpoints", "events", "execution_logs"):
                    await s.execute(f"DELETE FROM {table} WHERE run_id IN ({doomed})",
                                    {"cutoff": cutoff})
                # Its subgraphs' steps, kept under "<run id>/..." (runtime.subgraph).
                await s.execute(
                    "DELETE FROM checkpoints WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id IN "
                    f"({doomed}) AND substr(checkpoints.run_id, 1, length(r.id) + 1) "
                    "= r.id || '/')", {"cutoff": cutoff})
                gone = await s.fetch(f"DELETE FROM runs WHERE id IN ({doomed}) RETURNING id",
                                     {"cutoff": cutoff})
                return len(gone)

        return await self._run(delete, writer=True)

    # diagnostics ------------------------------------------------------------

    async def schema_versions(self) -> list[int]:
        """The migration versions recorded as applied."""
        async def get(s: Session) -> list[dict[str, Any]]:
            return await s.fetch("SELECT version FROM schema_migrations ORDER BY version")

        return [int(r["version"]) for r in await self._run(get)]

    async def durability_settings(self) -> dict[str, str]:
        """What the connection that commits says it does (the level's settings, read
        back live): SQLite ``journal_mode`` and ``synchronous`` (``"1"`` NORMAL, ``"2"``
        FULL), PostgreSQL ``synchronous_commit``."""
        if self.dialect.postgres:
            queries = {"synchronous_commit": "SHOW synchronous_commit"}
        else:
            queries = {"journal_mode": "PRAGMA journal_mode", "synchronous": "PRAGMA synchronous"}

        async def read(s: Session) -> dict[str, str]:
            return {k: str(next(iter((await s.fetch(q))[0].values())))
                    for k, q in queries.items()}

        return await self._run(read, writer=True)

    async def checkpoint_storage(self, run_id: str) -> dict[str, int]:
        """Rows, snapshots and JSON bytes the run's checkpoints take up."""
        sql = storage_query(self.dialect)
        row = (await self._run(lambda s: s.fetch(sql, {"r": run_id})))[0]
        return {"rows": int(row["n_rows"] or 0), "snapshots": int(row["snapshots"] or 0),
                "bytes": int(row["bytes"] or 0)}

    async def database_bytes(self) -> int:
        """What the database takes up now: SQLite's pages in use (WAL included, free
        pages not), PostgreSQL's tables with their indexes and TOAST in the current
        schema. For measuring growth (``storage_bytes_per_step``), after a flush."""
        await self.flush()
        if self.dialect.postgres:
            sql = ("SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c "
                   "JOIN pg_namespace s ON s.oid = c.relnamespace "
                   "WHERE c.relkind = 'r' AND s.nspname = current_schema()")
        else:
            sql = ("SELECT (p.page_count - f.freelist_count) * s.page_size AS n "
                   "FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s")
        row = (await self._run(lambda s: s.fetch(sql, {})))[0]
        return int(row["n"] or 0)

    async def healthy(self) -> bool:
        """``SELECT 1`` answered within a couple of seconds."""
        if self._writer is None:
            return False
        try:
            return await self._home.call(self._db.ping)
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

