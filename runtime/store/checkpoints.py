"""Checkpoint rows: writing a snapshot or delta, reading a chain back as full states.

See :mod:`.delta` for the delta format and :mod:`.spacing` for when a row is a
snapshot. A *chain* is the rows from the last snapshot at or before some step up to
that step; rebuilding it replays the chain's deltas onto the snapshot (at most
``Spacing.max_deltas``).
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from ..position import encode
from .base import Checkpoint
from .db import Session
from .delta import apply_delta, changed_of, encode_changed, make_delta
from .rows import checkpoint_from_row
from .schema import BULK, Bulk, Dialect, dumps, loads
from .spacing import Chain, Spacing

__all__ = ["checkpoint_stmts", "fetch_chain", "fetch_page", "rebuild", "storage_query"]

_COLS = ("run_id, step, nodes, kind, state, delta, pending, frames, position, next_seq, "
         "created_at")
UPSERT = (
    f"INSERT INTO checkpoints ({_COLS}) VALUES (:run_id, :step, :nodes, :kind, :state, "
    ":delta, :pending, :frames, :position, :next_seq, :created_at) ON CONFLICT (run_id, step) "
    "DO UPDATE SET nodes = excluded.nodes, kind = excluded.kind, state = excluded.state, "
    "delta = excluded.delta, pending = excluded.pending, frames = excluded.frames, "
    "position = excluded.position, next_seq = excluded.next_seq, "
    "created_at = excluded.created_at"
)
#: What the format-1 columns hold in rows written since (``position`` has it all).
_NONE = "[]"
# A snapshot starts a new chain: later rows (left by a run rewound to this step)
# were deltas against a history that no longer holds.
TRUNCATE = "DELETE FROM checkpoints WHERE run_id = :run_id AND step > :step"
BULK[UPSERT] = Bulk(
    f"INSERT INTO checkpoints ({_COLS}) SELECT * FROM {{rows}} " + UPSERT[UPSERT.index("ON CONFLICT"):],
    tuple(_COLS.split(", ")),
    ("text", "int4", "jsonb", "text", "jsonb", "jsonb", "jsonb", "jsonb", "jsonb", "int4",
     "timestamptz"),
    key=("run_id", "step"))
BULK[TRUNCATE] = Bulk(
    "DELETE FROM checkpoints c USING {rows} AS t(run_id, step) "
    "WHERE c.run_id = t.run_id AND c.step > t.step",
    ("run_id", "step"), ("text", "int4"))
CHAIN = (
    "SELECT * FROM checkpoints WHERE run_id = :r AND step <= :top AND step >= "
    "(SELECT max(step) FROM checkpoints WHERE run_id = :r AND kind = 'snapshot' "
    "AND step <= :top) ORDER BY step"
)

Stmt = tuple[str, dict[str, Any]]


def checkpoint_stmts(d: Dialect, c: Checkpoint,
                     base: tuple[dict[str, Any], Chain] | None,
                     spacing: Spacing) -> tuple[list[Stmt], Chain]:
    """The statements saving ``c`` and the run's chain after them: a delta against
    ``base`` (the previous state and its chain), or a snapshot when there is none or
    ``spacing`` says one is due."""
    delta_json: str | None = None
    chain: Chain | None = None
    if base is not None:
        delta_json = dumps(make_delta(base[0], c.state, c.changed))
        if not spacing.snapshot_due(base[1], len(delta_json)):
            chain = base[1].after_delta(len(delta_json))
    if chain is None:
        kind, state = "snapshot", dumps(c.state)
        delta_json = dumps(encode_changed(c.state, c.changed))
        chain = Chain(len(state))
    else:
        kind, state = "delta", None
    assert delta_json is not None
    row = {
        "run_id": c.run_id, "step": c.step, "nodes": dumps(c.nodes), "kind": kind,
        "state": state, "delta": delta_json, "pending": _NONE, "frames": _NONE,
        "position": None if c.position is None else dumps(encode(c.position)),
        "next_seq": c.next_seq, "created_at": d.ts(c.created_at),
    }
    stmts: list[Stmt] = [(UPSERT, row)]
    if kind == "snapshot":
        stmts.insert(0, (TRUNCATE, {"run_id": c.run_id, "step": c.step}))
    return stmts, chain


async def fetch_chain(s: Session, run_id: str, top: int | None) -> list[dict[str, Any]]:
    """Rows to rebuild step ``top`` (None: the latest step; -1: every step)."""
    if top == -1:
        return await s.fetch("SELECT * FROM checkpoints WHERE run_id = :r ORDER BY step",
                             {"r": run_id})
    if top is None:
        got = await s.fetch("SELECT max(step) AS m FROM checkpoints WHERE run_id = :r",
                            {"r": run_id})
        if not got or got[0]["m"] is None:
            return []
        top = int(got[0]["m"])
    return await s.fetch(CHAIN, {"r": run_id, "top": top})


async def fetch_page(s: Session, run_id: str, after: int,
                     limit: int | None) -> list[dict[str, Any]]:
    """Rows to rebuild the first ``limit`` steps after ``after`` (None: all of them):
    the chain leading to the first one, then the page."""
    got = await s.fetch("SELECT min(step) AS m FROM checkpoints WHERE run_id = :r "
                        "AND step > :after", {"r": run_id, "after": after})
    if not got or got[0]["m"] is None:
        return []
    first = int(got[0]["m"])
    snap = await s.fetch("SELECT max(step) AS m FROM checkpoints WHERE run_id = :r "
                         "AND kind = 'snapshot' AND step <= :first", {"r": run_id, "first": first})
    start = first if not snap or snap[0]["m"] is None else int(snap[0]["m"])
    prefix = await s.fetch("SELECT * FROM checkpoints WHERE run_id = :r AND step >= :start "
                           "AND step < :first ORDER BY step",
                           {"r": run_id, "start": start, "first": first})
    sql = "SELECT * FROM checkpoints WHERE run_id = :r AND step >= :first ORDER BY step"
    params: dict[str, Any] = {"r": run_id, "first": first}
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return prefix + await s.fetch(sql, params)


def rebuild(d: Dialect, rows: list[dict[str, Any]], *, keep_all: bool,
            after: int = -1) -> list[Checkpoint]:
    """Full checkpoints from a chain of rows: those after step ``after`` if
    ``keep_all``, else only the last."""
    out: list[Checkpoint] = []
    state: dict[str, Any] | None = None
    shared = False   # a checkpoint handed out holds ``state``
    for i, r in enumerate(rows):
        delta = loads(r["delta"])
        if r["kind"] == "snapshot":
            state, shared = loads(r["state"]), False
        elif state is None:
            raise StoreError(f"checkpoint {r['run_id']}/{r['step']} has no snapshot before it")
        else:
            if shared:
                # apply_delta (not owned) replaces values and mutates only these two
                # levels, so copying them keeps the checkpoints already emitted intact.
                state = dict(state)
                if isinstance(state.get("data"), dict):
                    state["data"] = dict(state["data"])
            # Until a step is handed out nobody else holds the lists: appends extend
            # them in place (a chain of n appends costs the items, not n lists).
            state = apply_delta(state, delta, owned=not shared)
        assert state is not None
        if (r["step"] > after) if keep_all else i == len(rows) - 1:
            out.append(checkpoint_from_row(d, r, state, changed_of(delta, state)))
            shared = True
    return out


def storage_query(d: Dialect) -> str:
    """Rows, snapshots and JSON bytes of one run's checkpoints (``:r``)."""
    size = "octet_length(CAST({} AS TEXT))" if d.postgres else "length({})"
    return (
        "SELECT count(*) AS n_rows, "
        "sum(CASE WHEN kind = 'snapshot' THEN 1 ELSE 0 END) AS snapshots, "
        f"sum(COALESCE({size.format('state')}, 0) + {size.format('delta')}) AS bytes "
        "FROM checkpoints WHERE run_id = :r"
    )
