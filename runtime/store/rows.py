"""Records <-> rows: the statements a store writes and the parsing of what it reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..events import Event
from ..position import decode, decode_v1
from ..status import RunStatus
from .base import Checkpoint, GraphRecord, RunRecord
from .logs import LOG_TYPES, log_row
from .schema import BULK, Bulk, Dialect, dumps, loads

__all__ = [
    "RUN_JSON",
    "RUN_TS",
    "checkpoint_from_row",
    "event_from_row",
    "event_row",
    "event_stmts",
    "logs_query",
    "graph_from_row",
    "graph_params",
    "log_from_row",
    "run_from_row",
    "run_params",
    "run_update",
]

RUN_JSON = frozenset({"initial_state", "current_state", "final_state", "options", "failure"})
RUN_TS = frozenset({"created_at", "started_at", "completed_at", "updated_at", "lease_until"})
_RUN_COLUMNS = tuple(RunRecord.model_fields)


def _column(d: Dialect, name: str, value: Any) -> Any:
    if name in RUN_JSON:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        return None if value is None else dumps(value)
    if name in RUN_TS:
        return d.ts(value)
    if name == "status":
        return RunStatus(value).value
    return value


def graph_params(d: Dialect, g: GraphRecord) -> dict[str, Any]:
    return {
        "id": g.id, "name": g.name, "description": g.description,
        "nodes": dumps(g.nodes), "edges": dumps(g.edges), "entry_point": g.entry_point,
        "definition": dumps(g.definition), "tenant": g.tenant,
        "created_at": d.ts(g.created_at), "updated_at": d.ts(g.updated_at),
    }


def graph_from_row(d: Dialect, r: dict[str, Any]) -> GraphRecord:
    return GraphRecord(
        id=r["id"], name=r["name"], description=r["description"],
        definition=loads(r["definition"]), tenant=r["tenant"],
        created_at=_ts(d, r["created_at"]), updated_at=_ts(d, r["updated_at"]),
    )


def _ts(d: Dialect, value: Any) -> datetime:
    parsed = d.parse_ts(value)
    assert parsed is not None, "NOT NULL timestamp column"
    return parsed


INSERT_RUN = (
    f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _RUN_COLUMNS)})"
)


def run_params(d: Dialect, r: RunRecord) -> dict[str, Any]:
    return {c: _column(d, c, getattr(r, c)) for c in _RUN_COLUMNS}


def run_from_row(d: Dialect, r: dict[str, Any]) -> RunRecord:
    values = {c: r[c] for c in _RUN_COLUMNS}
    for c in RUN_JSON:
        values[c] = loads(values[c])
    for c in RUN_TS:
        values[c] = d.parse_ts(values[c])
    if values["options"] is None:
        values["options"] = {}
    return RunRecord.model_validate(values)


def run_update(d: Dialect, run_id: str, fields: dict[str, Any], *,
               also: str = "") -> tuple[str, dict[str, Any]]:
    """``UPDATE runs`` for exactly ``fields`` (already validated names); ``also``: more
    assignments, as SQL."""
    names = sorted(fields)
    sets = [f"{n} = :{n}" for n in names] + ([also] if also else [])
    sql = f"UPDATE runs SET {', '.join(sets)} WHERE id = :id"
    params = {n: _column(d, n, fields[n]) for n in names}
    params["id"] = run_id
    return sql, params


INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, type, node, ts, data) "
    "VALUES (:run_id, :seq, :type, :node, :ts, :data) ON CONFLICT (run_id, seq) DO NOTHING"
)
INSERT_LOG = (
    "INSERT INTO execution_logs (run_id, seq, node_name, status, timestamp, input_state, "
    "input_step, output_state, error) VALUES (:run_id, :seq, :node_name, :status, "
    ":timestamp, :input_state, :input_step, :output_state, :error) "
    "ON CONFLICT (run_id, seq) DO NOTHING"
)

BULK[INSERT_EVENT] = Bulk(
    "INSERT INTO events (run_id, seq, type, node, ts, data) SELECT * FROM {rows} "
    "ON CONFLICT (run_id, seq) DO NOTHING",
    ("run_id", "seq", "type", "node", "ts", "data"),
    ("text", "int4", "text", "text", "float8", "jsonb"))
BULK[INSERT_LOG] = Bulk(
    "INSERT INTO execution_logs (run_id, seq, node_name, status, timestamp, input_state, "
    "input_step, output_state, error) SELECT * FROM {rows} "
    "ON CONFLICT (run_id, seq) DO NOTHING",
    ("run_id", "seq", "node_name", "status", "timestamp", "input_state", "input_step",
     "output_state", "error"),
    ("text", "int4", "text", "text", "timestamptz", "jsonb", "int4", "jsonb", "text"))


def event_row(e: Event) -> dict[str, Any] | None:
    """The event's INSERT_EVENT row when that is all :func:`event_stmts` writes for it
    (every event of this runtime), else None. Its values are str, int, float or None:
    the row is immutable once made, and no object for the collector to track."""
    data = e.data
    if "input" in data:
        if data.get("input_step") is None:
            return None   # it has an execution_logs row too
        data = data.copy()
        del data["input"]
    return {"run_id": e.run_id, "seq": e.seq, "type": e.type.value, "node": e.node,
            "ts": e.ts, "data": dumps(data)}


def event_stmts(d: Dialect, e: Event) -> list[tuple[str, dict[str, Any]]]:
    """The event row plus, for a node event holding what its event row does not
    (an input state given as a copy rather than by ``input_step``: events written by
    an older runtime, or by a caller of ``append_event``), its execution_logs row.

    Every other node event's execution_logs row is derived from its event row when
    read (:func:`logs_query`): writing it too cost a second row, three index entries,
    per node event (a third of a durable step's SQLite time) for nothing new.

    Serialised now, on the caller's side, so later mutation of ``e.data`` by
    the caller cannot change what gets written.
    """
    data = e.data
    if "input" not in data:
        return [(INSERT_EVENT, {
            "run_id": e.run_id, "seq": e.seq, "type": e.type.value, "node": e.node,
            "ts": e.ts, "data": dumps(data)})]
    # A node's input state goes to its execution_logs row only, not twice; with an
    # ``input_step`` it is not stored at all (the checkpoint of that step holds it).
    data = data.copy()
    del data["input"]
    stmts = [(INSERT_EVENT, {
        "run_id": e.run_id, "seq": e.seq, "type": e.type.value, "node": e.node,
        "ts": e.ts, "data": dumps(data),
    })]
    if data.get("input_step") is not None:
        # (Every node_started of this runtime: log_row would give no input_state.)
        return stmts
    row = log_row(e)
    if row is not None and row["input_state"] is not None:
        row["input_state"] = dumps(row["input_state"])
        row["output_state"] = None
        row["timestamp"] = d.ts(row["timestamp"])
        stmts.append((INSERT_LOG, row))
    return stmts


#: The event types that make execution_logs rows (see :func:`.logs.log_row`).
_LOG_TYPES = ", ".join(f"'{t.value}'" for t in LOG_TYPES)


def logs_query(d: Dialect) -> str:
    """A page of one run's node events (``:r``, ``:limit``, ``:offset``), each with
    its execution_logs row where one was written (:func:`event_stmts`)."""
    return (
        "SELECT e.run_id, e.seq, e.type, e.node, e.ts, e.data, l.status, l.timestamp, "
        "l.input_state, l.input_step, l.output_state, l.error "
        "FROM events e LEFT JOIN execution_logs l ON l.run_id = e.run_id AND l.seq = e.seq "
        f"WHERE e.run_id = :r AND e.type IN ({_LOG_TYPES}) "
        "ORDER BY e.seq LIMIT :limit OFFSET :offset")


def log_from_row(d: Dialect, r: dict[str, Any], number: int) -> dict[str, Any]:
    """The execution_logs row of a :func:`logs_query` row: the written one if there is
    one (rows of an older runtime keep what they hold), else derived from the event
    as the memory store derives it. ``id``: its number in the run's logs, from 1."""
    event = event_from_row(r)
    out = log_row(event)
    assert out is not None, "logs_query reads node events only"
    if r["status"] is not None:
        out["status"] = r["status"]
        out["timestamp"] = d.parse_ts(r["timestamp"])
        out["input_state"] = loads(r["input_state"])
        out["input_step"] = r["input_step"]
        if r["output_state"] is not None:   # else kept once, in the event's ``update``
            out["output_state"] = loads(r["output_state"])
        out["error"] = r["error"]
    out["id"] = number
    return out


def event_from_row(r: dict[str, Any]) -> Event:
    return Event.from_dict({**r, "data": loads(r["data"])})


def checkpoint_from_row(d: Dialect, r: dict[str, Any], state: dict[str, Any],
                        changed: dict[str, Any]) -> Checkpoint:
    created: datetime | None = d.parse_ts(r["created_at"])
    raw = r.get("position")
    position = (decode(loads(raw)) if raw is not None
                else decode_v1(loads(r["pending"]), loads(r["frames"]), int(r["step"])))
    return Checkpoint(
        run_id=r["run_id"], step=r["step"], nodes=loads(r["nodes"]), state=state,
        changed=changed, position=position, next_seq=r["next_seq"],
        **({"created_at": created} if created else {}),
    )
