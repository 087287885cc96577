"""An in-process store made of dicts: for tests and throwaway runs.

Nothing survives the process. Every record handed in or out is a deep copy, so
callers can never mutate what is stored (the same contract as a database).
"""

from __future__ import annotations

import bisect
import copy
import operator
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import StoreError
from ..events import Event, EventRow
from ..frames import FrameAt
from ..growing import grown_at
from ..position import Position, pending_at
from ..status import ACTIVE, FINISHED, RunStatus
from ..state import trusted
from .access_memory import MemoryAccess
from .base import DEFAULT_TENANT, Checkpoint, GraphRecord, RunRecord, ThreadRecord, utcnow
from .errors import GraphExistsError, ThreadExistsError
from .logs import log_row

__all__ = ["MemoryStore", "direct_keeper", "instant_updates"]

_RUN_FIELDS = frozenset(RunRecord.model_fields)

#: A run as kept: its record's field values, in this order. Every run of the process is
#: kept (a thousand in flight, all the finished ones): the model, its ``__dict__`` of 22
#: keys and its fields-set are three objects and ~1.6 KB; the tuple is one and ~230 bytes.
#: The values are shared with the record handed in (as the shallow copy kept before
#: was): the runtime builds records, hands them over and does not mutate them after.
_RUN_ORDER = tuple(RunRecord.model_fields)
_AT = {name: i for i, name in enumerate(_RUN_ORDER)}
_STATUS, _THREAD, _GRAPH = _AT["status"], _AT["thread_id"], _AT["graph_id"]
_Row = tuple[Any, ...]
_RESUMABLE = (RunStatus.PENDING, RunStatus.RUNNING)


#: The empty containers a run's record usually holds (its initial state's data,
#: errors, warnings and config; its options' interrupt lists), kept as one shared empty
#: container per place: ~270 bytes per run kept, a thousand in flight and every
#: finished one. Never written (what is read out is a deep copy: a fresh empty
#: container); one per place, not one for all, so that a deep copy of a record does
#: not make two of its lists one.
_EMPTY_AT: dict[str, dict[str, list[Any] | dict[str, Any]]] = {
    "initial_state": {"data": {}, "errors": [], "warnings": [], "config": {}},
    "options": {"interrupt_before": [], "interrupt_after": []},
}


def _lean(field: str, value: Any) -> Any:
    """``value`` of the record's ``field`` with its empty containers shared (_EMPTY_AT):
    a new dict (the record's may still be its maker's), or ``value`` itself."""
    empty = _EMPTY_AT.get(field)
    if empty is None or type(value) is not dict or not any(
            k in empty and type(v) is type(empty[k]) and not v and v is not empty[k]
            for k, v in value.items()):
        return value
    return {k: empty[k] if k in empty and type(v) is type(empty[k]) and not v else v
            for k, v in value.items()}


#: A record's values in _RUN_ORDER, in one C call (a generator over 22 names was 23
#: Python-level resumptions per run created).
_IN_ORDER = operator.itemgetter(*_RUN_ORDER)
_INITIAL, _OPTIONS = _AT["initial_state"], _AT["options"]


def _row(record: RunRecord) -> _Row:
    row: _Row = _IN_ORDER(record.__dict__)
    initial = _lean("initial_state", row[_INITIAL])
    options = _lean("options", row[_OPTIONS])
    if initial is row[_INITIAL] and options is row[_OPTIONS]:
        return row
    values = list(row)
    values[_INITIAL], values[_OPTIONS] = initial, options
    return tuple(values)


def _record(row: _Row) -> RunRecord:
    """The kept run as a record sharing its values (for reading here; hand out copies).
    Every field is set, as in a record read from an SQL store."""
    return trusted(RunRecord, dict(zip(_RUN_ORDER, row, strict=True)))


def _copy(row: _Row) -> RunRecord:
    """The kept run as the caller's own deep copy (the store's contract)."""
    return trusted(RunRecord, copy.deepcopy(dict(zip(_RUN_ORDER, row, strict=True))))


def _replace(row: _Row, values: dict[str, Any]) -> _Row:
    changed = list(row)
    for name, value in values.items():
        changed[_AT[name]] = value
    return tuple(changed)

#: A checkpoint as kept: run_id, step, nodes, state, changed, position, next_seq,
#: created_at. Thousands of finished runs may be kept, every one of their containers
#: walked by each full garbage collection: a tuple instead of a model (its __dict__
#: and fields-set are two objects more), tuples instead of the lists of node names,
#: errors and warnings (a tuple of strings is not tracked by the collector, and an
#: empty one is shared) make a kept checkpoint 5 tracked objects fewer, out of 9.
#: ``created_at`` is a datetime, or (kept by the supervisor) the ``time.time()`` it is.
#: ``state`` is the values of _STATE_FIELDS in order (a state with other keys: its dict).
_Kept = tuple[str, int, tuple[str, ...], tuple[Any, ...] | dict[str, Any], dict[str, Any],
              Any, int, Any]

#: A kept state's fields, in order: kept as a tuple of their values, with errors and
#: warnings as tuples. A dict of eight keys is ~360 bytes, the tuple ~120: a thousand
#: finished five-step runs keep 1.2 MiB less (W3's peak RSS), and the tuple of a state
#: whose values are all untracked (empty data and config) is untracked by the collector.
_STATE_FIELDS = ("workflow_id", "run_id", "timestamp", "iteration", "data", "errors",
                 "warnings", "config")
_STATE_KEYS = frozenset(_STATE_FIELDS)


#: A step kept flat, in one tuple (:class:`~runtime.supervisor.Supervisor` keeps every
#: step of a chain, a loop or a fan-out so, with nothing answered or waiting): run_id, step,
#: nodes, changed, next_seq, created_at (a ``time.time()``), the values of
#: _STATE_FIELDS, then the position: the run's append-only logs of activations
#: dispatched and done with their lengths then (the pending ones are those of the one
#: not in the other), next activation, next frame, dispatched, path, the lengths of the
#: data's lists grown in place (``runtime.growing.lengths``: the data is then shared
#: with other steps, each grown list as it is now, see ``growing.grown_at``), and the
#: open frames as marked then (``runtime.frames.frame_marks``: nothing when none, 23
#: fields in all; one frame as itself and the 8 numbers of its mark, 32; else their
#: marks, 24). One tuple instead of one of 8 with a state tuple, a Position, its
#: PendingLog and a frame mark: up to four objects and ~400 bytes less per step, for
#: every step of every run kept in memory.
_FLAT = 23
_FLAT_FRAMES = _FLAT + 1
_FLAT_FRAME = _FLAT + 9


def _keep(cp: Checkpoint) -> _Kept:
    state: tuple[Any, ...] | dict[str, Any] = cp.state
    if (cp.state.keys() == _STATE_KEYS and isinstance(cp.state["errors"], list)
            and isinstance(cp.state["warnings"], list)):
        state = tuple(tuple(cp.state[k]) if k == "errors" or k == "warnings" else cp.state[k]
                      for k in _STATE_FIELDS)
    return (cp.run_id, cp.step, tuple(cp.nodes), state, cp.changed, cp.position,
            cp.next_seq, cp.created_at)


def _checkpoint(kept: tuple[Any, ...]) -> Checkpoint:
    """A kept checkpoint as the caller's own deep copy (the store's contract)."""
    if len(kept) in (_FLAT, _FLAT_FRAMES, _FLAT_FRAME):
        frames: Any = ()
        if len(kept) == _FLAT_FRAME:
            frames = FrameAt.of(*kept[_FLAT:])
        elif len(kept) == _FLAT_FRAMES:
            frames = kept[_FLAT]
        kept = kept[:_FLAT]
        (run_id, step, nodes, changed, next_seq, created_at, *values, log, upto, done,
         done_upto, next_activation, next_frame, dispatched, path, sizes) = kept
        if sizes:
            at = _STATE_FIELDS.index("data")
            values[at] = grown_at(values[at], sizes)
        state: Any = tuple(values)
        if type(changed) is tuple:   # (changed_keys) the names of keys of the state's data
            data = values[_STATE_FIELDS.index("data")]
            changed = {k: data[k] for k in changed}
        position: Any = Position(pending_at(log, upto, done, done_upto), (), (), frames,
                                 next_activation, next_frame, dispatched, path)
    else:
        run_id, step, nodes, state, changed, position, next_seq, created_at = kept
    if isinstance(created_at, float):   # kept by the supervisor as time.time()
        created_at = datetime.fromtimestamp(created_at, UTC)
    if isinstance(state, tuple):
        state = dict(zip(_STATE_FIELDS, state, strict=True))
        state["errors"], state["warnings"] = list(state["errors"]), list(state["warnings"])
    return trusted(Checkpoint, {
        "run_id": run_id, "step": step, "nodes": list(nodes), "state": state,
        "changed": changed, "position": position, "next_seq": next_seq,
        "created_at": created_at}).model_copy(deep=True)


#: What a flat step that changed nothing keeps as its changes: one empty tuple for all.
_UNCHANGED: tuple[str, ...] = ()


def changed_keys(changed: dict[str, Any], data: dict[str, Any]) -> Any:
    """A flat step's changes as kept: the names of the keys changed when every value is
    the step's state's own (the common case: a step's changes are values it wrote), a
    tuple of strings the collector does not track, instead of a dict that it does when
    a value is a container (a fan-out's branch steps each keep one: 10,000 for 10,000
    branches); else ``changed`` itself."""
    for k, v in changed.items():
        if data.get(k, _UNCHANGED) is not v:
            return changed
    return tuple(changed) if changed else _UNCHANGED


def direct_keeper(store: object) -> Callable[[tuple[Any, ...]], None] | None:
    """``store.keep_checkpoint`` if ``store`` is a memory store whose ``save_checkpoint`` is
    the plain one (a subclass that hooks the save, as tests do, gets every model)."""
    if isinstance(store, MemoryStore) and (
            type(store).save_checkpoint is MemoryStore.save_checkpoint):
        return store.keep_checkpoint
    return None


def instant_updates(store: object) -> bool:
    """Whether ``store.update_run`` never awaits (a memory store's own): a call nothing
    can cancel or delay, which needs no shielded, bounded scope around it."""
    return isinstance(store, MemoryStore) and (
        type(store).update_run is MemoryStore.update_run)


class MemoryStore(MemoryAccess):
    """The whole :class:`~runtime.store.base.Store` protocol on plain dicts.

    Methods never await anything, so each one is atomic with respect to other
    tasks on the same event loop; no locks are needed.
    """

    #: Nothing survives the process: runs cannot resume after a crash.
    durable = False

    def __init__(self, url: str = "memory://") -> None:
        super().__init__()
        self.url = url
        self.durable = False
        self._cache: dict[tuple[str, str], Any] = {}
        self._graphs: dict[str, GraphRecord] = {}
        self._runs: dict[str, _Row] = {}
        self._checkpoints: dict[str, dict[int, tuple[Any, ...]]] = {}  # _Kept or flat
        #: Each run's events in seq order (a list of a dozen is ~180 bytes less than the
        #: dict by seq it replaced, per run kept), as rows (runtime.events.EventRow:
        #: ~240 bytes less per event than the Event); read back as Events.
        self._events: dict[str, list[EventRow]] = {}
        self._threads: dict[str, ThreadRecord] = {}
        # One bound method each, made once: the runtime takes them per run (an event
        # sink, a checkpoint keeper, a history reader), and a bound method made per run
        # is one more object per run for the collector to walk, for as long as the run
        # is kept.
        self.append_event = self.append_event   # type: ignore[method-assign]
        self.keep_checkpoint = self.keep_checkpoint   # type: ignore[method-assign]
        self.read_events = self.read_events   # type: ignore[method-assign]

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to flush; the data stays readable until the object is dropped."""

    # graphs ---------------------------------------------------------------

    async def save_graph(self, record: GraphRecord) -> GraphRecord:
        for other in self._graphs.values():
            if (other.name == record.name and other.tenant == record.tenant
                    and other.id != record.id):
                raise GraphExistsError(record.name)
        if record.id in self._graphs:
            raise GraphExistsError(record.name)
        self._graphs[record.id] = record.model_copy(deep=True)
        return record.model_copy(deep=True)

    async def get_graph(self, key: str, *, tenant: str | None = None) -> GraphRecord | None:
        found = self._graphs.get(key)
        if found is None:
            named = sorted((g for g in self._graphs.values() if g.name == key
                            and (tenant is None or g.tenant == tenant)),
                           key=lambda g: (g.tenant != (tenant or DEFAULT_TENANT),
                                          g.created_at, g.id))
            found = named[0] if named else None
        return None if found is None else found.model_copy(deep=True)

    async def list_graphs(self, *, limit: int = 100, offset: int = 0,
                          tenant: str | None = None) -> list[GraphRecord]:
        ordered = sorted((g for g in self._graphs.values()
                          if tenant is None or g.tenant == tenant),
                         key=lambda g: (g.created_at, g.id))
        return [g.model_copy(deep=True) for g in ordered[offset : offset + limit]]

    async def delete_graph(self, key: str) -> bool:
        found = await self.get_graph(key)
        if found is None:
            return False
        del self._graphs[found.id]
        # Like the SQL schema's ON DELETE SET NULL: runs outlive their graph.
        for run_id, row in list(self._runs.items()):
            if row[_GRAPH] == found.id:
                self._runs[run_id] = _replace(row, {"graph_id": None})
        return True

    # runs -----------------------------------------------------------------

    async def create_run(self, record: RunRecord) -> None:
        if record.id in self._runs:
            raise StoreError(f"a run with id {record.id!r} already exists")
        # Shallow: records are built by the runtime and replaced, never mutated, on update.
        self._runs[record.id] = _row(record)

    async def update_run(self, run_id: str, **fields: Any) -> None:
        """Set fields of a run; an unknown run is ignored (as an SQL UPDATE would)."""
        if not _RUN_FIELDS.issuperset(fields):
            unknown = set(fields) - _RUN_FIELDS
            raise StoreError(f"update_run: unknown RunRecord field(s) {sorted(unknown)}")
        row = self._runs.get(run_id)
        if row is None:
            return
        values = fields   # (the call's own dict: **fields made it)
        if "updated_at" not in values:
            values["updated_at"] = utcnow()
        if "status" in values and type(values["status"]) is not RunStatus:
            values["status"] = RunStatus(values["status"])
        # Values by reference: readers only ever get deep copies (get_run, list_runs), and
        # they come from the runtime, which does not mutate what it has handed over.
        self._runs[run_id] = _replace(row, values)

    async def get_run(self, run_id: str) -> RunRecord | None:
        row = self._runs.get(run_id)
        return None if row is None else _copy(row)

    def _records(self) -> Iterator[RunRecord]:
        """Every kept run, as records sharing the kept values (read them, never hand
        them out)."""
        return map(_record, self._runs.values())

    async def list_runs(
        self, *, status: str | None = None, graph_id: str | None = None,
        limit: int = 100, offset: int = 0, thread_id: str | None = None,
        tenant: str | None = None,
    ) -> list[RunRecord]:
        runs = [
            r for r in self._records()
            if (status is None or r.status == status)
            and (tenant is None or r.tenant == tenant)
            and (graph_id is None or r.graph_id == graph_id)
            and (thread_id is None or r.thread_id == thread_id)
        ]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)  # newest first
        return [_copy(self._runs[r.id]) for r in runs[offset : offset + limit]]

    async def count_runs(self, status: str) -> int:
        return sum(1 for r in self._runs.values() if r[_STATUS] == status)

    async def count_runs_by_status(self, statuses: Sequence[str], *,
                                   tenant: str | None = None) -> dict[str, int]:
        counts = {RunStatus(x).value: 0 for x in statuses}
        for r in self._records():
            if r.status in counts and (tenant is None or r.tenant == tenant):
                counts[r.status] += 1
        return counts

    async def claim_orphaned_runs(self, owner: str, *,
                                  alive: Callable[[str], bool] | None = None
                                  ) -> list[RunRecord]:
        claimed: list[RunRecord] = []
        now = utcnow()
        for run in list(self._records()):
            if run.status in ACTIVE and run.owner != owner and not (
                    alive is not None and run.owner is not None and alive(run.owner)):
                self._runs[run.id] = row = _replace(_row(run), {
                    "owner": owner, "updated_at": now,
                    "interruptions": run.interruptions + int(run.status is RunStatus.RUNNING)})
                claimed.append(_copy(row))
        claimed.sort(key=lambda r: (r.created_at, r.id))
        return claimed

    async def owners_of_active_runs(self, besides: str) -> list[str]:
        now = utcnow()
        return sorted({r.owner for r in self._records()
                       if r.status in _RESUMABLE and (r.lease_until is None
                                                      or r.lease_until < now)
                       and r.owner is not None and r.owner != besides})

    async def adopt_runs(self, owners: Sequence[str], owner: str) -> list[RunRecord]:
        gone = set(owners)
        adopted: list[RunRecord] = []
        now = utcnow()
        for run in list(self._records()):
            if (run.status in _RESUMABLE and run.owner in gone
                    and (run.lease_until is None or run.lease_until < now)):
                self._runs[run.id] = row = _replace(_row(run), {
                    "owner": owner, "updated_at": now, "lease_until": None,
                    "interruptions": run.interruptions + int(run.status is RunStatus.RUNNING)})
                adopted.append(_copy(row))
        adopted.sort(key=lambda r: (r.created_at, r.id))
        return adopted

    # threads --------------------------------------------------------------

    async def create_thread(self, record: ThreadRecord) -> ThreadRecord:
        if record.id in self._threads:
            raise ThreadExistsError(record.id)
        self._threads[record.id] = record.model_copy(deep=True)
        return record.model_copy(deep=True)

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        found = self._threads.get(thread_id)
        return None if found is None else found.model_copy(deep=True)

    async def list_threads(self, *, limit: int = 100, offset: int = 0,
                           tenant: str | None = None) -> list[ThreadRecord]:
        found = sorted((t for t in self._threads.values() if tenant in (None, t.tenant)),
                       key=lambda t: (t.created_at, t.id), reverse=True)
        return [t.model_copy(deep=True) for t in found[offset : offset + limit]]

    async def claim_thread(self, thread_id: str, run_id: str, *,
                           create: RunRecord | None = None) -> str | None:
        thread = self._threads.get(thread_id)
        if thread is None:
            return ""
        writer = thread.writer
        if writer is not None and writer != run_id:
            holder = self._runs.get(writer)
            if holder is not None and holder[_STATUS] in ACTIVE:
                return writer
        if create is not None:
            await self.create_run(create)
        thread.writer = run_id
        thread.updated_at = utcnow()
        return None

    async def delete_thread(self, thread_id: str) -> bool:
        if self._threads.pop(thread_id, None) is None:
            return False
        for rid in [k for k, r in self._runs.items() if r[_THREAD] == thread_id]:
            del self._runs[rid]
            for table in (self._checkpoints, self._events):
                for key in [k for k in table if k == rid or k.startswith(rid + "/")]:
                    del table[key]
        return True

    # checkpoints ----------------------------------------------------------

    async def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        # Stored by reference (the supervisor hands over fresh containers and treats
        # state values as immutable, so a copy here would only cost time on the hot
        # path), in the compact form of _keep.
        self.keep_checkpoint(_keep(checkpoint))

    def keep_checkpoint(self, kept: tuple[Any, ...]) -> None:
        """Keep a checkpoint already in its kept form: what ``save_checkpoint`` does once
        the model is taken apart. The supervisor calls it directly on a plain memory store
        (see ``direct_keeper``): a checkpoint model built at every step only to be taken
        apart again cost more than the rest of the save."""
        steps = self._checkpoints.setdefault(kept[0], {})
        step = kept[1]
        if steps and next(reversed(steps)) > step:
            # Re-saving an earlier step forks history there: later steps are gone (as
            # in the SQL stores). Steps are added in order, so the last key is the top.
            for later in [s for s in steps if s > step]:
                del steps[later]
        steps[step] = kept

    async def queue_checkpoint(self, checkpoint: Checkpoint) -> int:
        """Saved at once: memory has nothing to wait for."""
        await self.save_checkpoint(checkpoint)
        return 0

    async def wait_committed(self, run_id: str, mark: int | None = None) -> None:
        """Nothing is pending in memory (and nothing survives the process anyway)."""

    async def latest_checkpoint(self, run_id: str) -> Checkpoint | None:
        steps = self._checkpoints.get(run_id)
        if not steps:
            return None
        return _checkpoint(steps[max(steps)])

    async def list_checkpoints(self, run_id: str, *, after: int = -1,
                               limit: int | None = None) -> list[Checkpoint]:
        steps = self._checkpoints.get(run_id, {})
        page = [s for s in sorted(steps) if s > after][:limit]
        return [_checkpoint(steps[s]) for s in page]

    async def get_checkpoint(self, run_id: str, step: int) -> Checkpoint | None:
        found = self._checkpoints.get(run_id, {}).get(step)
        return None if found is None else _checkpoint(found)

    # cache ----------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> Any | None:
        return self._cache.get((namespace, key))

    def cache_set(self, namespace: str, key: str, value: Any) -> None:
        self._cache[(namespace, key)] = value

    # events ---------------------------------------------------------------

    def share_events(self, run_id: str) -> list[EventRow] | None:
        """The list this store keeps ``run_id``'s events in, for the run's event hub to
        append them to itself (``EventHub(log=...)``): one list for both. Only for a run
        with no events yet (a new one: its events then come in seq order, from 0), and
        only if this store's ``append_event`` is the plain one; else None."""
        if run_id in self._events or type(self).append_event is not MemoryStore.append_event:
            return None
        events: list[EventRow] = []
        self._events[run_id] = events
        return events

    def append_event(self, event: Event) -> None:
        # Events are frozen and their payloads never mutated after publishing: keep
        # their values by reference. A repeated seq (a resumed run re-publishing) keeps
        # the first.
        events = self._events.get(event.run_id)
        if events is None:
            self._events[event.run_id] = [event.row()]
        elif not events or event.seq > events[-1][0]:   # (the common case: the next one)
            events.append(event.row())
        else:
            at = bisect.bisect_left(events, event.seq, key=_seq)
            if at == len(events) or events[at][0] != event.seq:
                events.insert(at, event.row())

    async def read_events(
        self, run_id: str, since: int = 0, until: int | None = None
    ) -> list[Event]:
        events = self._events.get(run_id, [])
        start = bisect.bisect_left(events, since, key=_seq)
        end = len(events) if until is None else bisect.bisect_left(events, until, key=_seq)
        of_row = Event.of_row
        return [of_row(row, run_id) for row in events[start:end]]

    async def list_logs(
        self, run_id: str, *, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        rows = []
        for event in await self.read_events(run_id):
            row = log_row(event)
            if row is not None:
                rows.append(row)
        for i, row in enumerate(rows):
            row["id"] = i + 1
        return rows[offset : offset + limit]

    async def flush(self) -> None:
        """Every write is already done."""

    async def prune(self, *, older_than_seconds: float) -> int:
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        doomed = [
            r.id for r in self._records()
            if r.status in FINISHED and (r.completed_at or r.updated_at) < cutoff
        ]
        for run_id in doomed:
            del self._runs[run_id]
            self._checkpoints.pop(run_id, None)
            self._events.pop(run_id, None)
            # Its subgraphs' steps, kept under "<run id>/..." (runtime.subgraph).
            for key in [k for k in self._checkpoints if k.startswith(run_id + "/")]:
                del self._checkpoints[key]
        return len(doomed)

    async def healthy(self) -> bool:
        return True


def _seq(row: EventRow) -> int:
    return row[0]   # type: ignore[no-any-return]
