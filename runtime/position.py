"""Where a run is, besides its state: the checkpoint *position*, typed and versioned.

A checkpoint holds the run's state and its :class:`Position`: the activations
dispatched but not completed (they run again on restore: at least once), the branches
waiting for an answer, the branches that go on along a node's edges (an answered
``interrupt_after``, a state edit "as" a node), the open parallel frames, and the
counters that number activations and frames. Crash recovery, resume, state edits,
fork and replay all start from it, for runs written by this version or an older one,
so it is a durable format: this module is its only encoder and decoder.

Formats:

- **1** (until the position was typed): two JSON lists, stored in the ``pending`` and
  ``frames`` columns. ``pending`` held activation dicts, a waiting branch as an
  activation with a ``"wait"`` key, a branch to go on as one with
  ``"continue_after": true``; ``frames`` held the frame dicts plus a fake
  ``{"kind": "counters", ...}`` frame (absent when the store was not durable).
- **2**: one JSON object, ``{"format": 2, "pending": [...], "waiting": [...],
  "continuing": [...], "frames": [...], "counters": {...}}``.
- **3**: format 2 plus ``"path"``: where in the run the position is. ``""`` for the run's
  own graph; for a subgraph's run the parent node path (``"review"``, or
  ``"outer/inner"`` nested), whose steps are checkpointed under the parent run (see
  :mod:`runtime.subgraph`). A format 2 position reads as path ``""``.
  In formats 2 and 3 a frame may carry ``prefix``, ``seqs``, ``base`` and ``log`` (the
  order of its parallel writes, see :mod:`.order`); a frame written without them (before
  they existed) merges the writes still to come in arrival order, as it did then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import CheckpointFormatError, GraphSerializationError
from .frames import Frame, FrameRef
from .importpath import load
from .lazyseq import LazySeq
from .state import StateUpdate

__all__ = [
    "FORMAT",
    "NO_ITEM",
    "Activation",
    "Counters",
    "READS",
    "PendingLog",
    "Position",
    "WaitEntry",
    "answered_activation",
    "decode",
    "decode_v1",
    "encode",
    "pending_at",
]

#: The format :func:`encode` writes.
FORMAT = 3
#: Every format :func:`decode` reads (format 1 is two lists: :func:`decode_v1`).
READS = (2, 3)

class _NoItem:
    """The item of an activation that no map edge started: one object, even through
    the deep copies a store makes (the memory store copies what it hands out)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_ITEM"

    def __copy__(self) -> _NoItem:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NoItem:
        return self

    def __reduce__(self) -> str:
        return "NO_ITEM"


NO_ITEM: Any = _NoItem()


@dataclass(slots=True)
class Activation:
    """One execution of a node, as dispatched. Never changed once dispatched, so a
    checkpoint may hold it by reference."""

    id: int
    node: str
    frames: tuple[FrameRef, ...]
    item: Any = NO_ITEM
    index: int | None = None
    answers: dict[str, Any] | None = None   # interrupt id -> answer, for ask()


@dataclass(slots=True)
class WaitEntry:
    """A branch waiting for an answer; ``activation`` is what goes on once answered."""

    id: str
    kind: str                      # "ask" | "before" | "after"
    node: str
    payload: Any
    schema: str | None             # "module:qualname" of a pydantic model for the answer
    activation: Activation

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "node": self.node, "payload": self.payload,
                "answer_schema": answer_schema(self.schema)}


def answered_activation(entry: WaitEntry, answer: Any) -> tuple[bool, Activation]:
    """What an answered branch becomes: ``(True, activation)`` to execute its node again
    with the answer among its answers, or ``(False, activation)`` to go on along the
    node's edges (an answered pause after a node; its answers slot carries the pause's
    goto, if it had one)."""
    a = entry.activation
    if entry.kind == "after":
        goto = entry.payload.get("goto") if isinstance(entry.payload, dict) else None
        if not isinstance(goto, list):
            return False, a
        return False, Activation(a.id, a.node, a.frames, a.item, a.index, {"goto": goto})
    return True, Activation(a.id, a.node, a.frames, a.item, a.index,
                            {**(a.answers or {}), entry.id: answer})


def answer_schema(path: str | None) -> dict[str, Any] | None:
    """The JSON Schema of an interrupt's answer model, for clients that build a form
    (``None`` when any answer is accepted or the model can no longer be imported)."""
    if path is None:
        return None
    try:
        model = load(path, "interrupt schema")
        schema: dict[str, Any] = model.model_json_schema()
    except (GraphSerializationError, AttributeError, TypeError):
        return None  # the answer is still validated (and refused clearly) at resume
    return schema


class PendingLog(LazySeq[Activation]):
    """The pending activations at one step, read off the run's append-only logs of
    activations dispatched and done (the same objects; an id comes back when an
    answered branch runs again): taking it costs O(1) at every step (the memory store
    keeps a position per step); the list is built when first read."""

    __slots__ = ("_done", "_done_upto", "_items", "_log", "_upto")

    def __init__(self, log: list[Activation], done: list[Activation]) -> None:
        self._log, self._upto = log, len(log)
        self._done, self._done_upto = done, len(done)
        self._items: tuple[Activation, ...] | None = None

    def _read(self) -> tuple[Activation, ...]:
        if self._items is None:
            self._items = pending_at(self._log, self._upto, self._done, self._done_upto)
        return self._items


def pending_at(log: list[Activation], upto: int, done: list[Activation],
               done_upto: int) -> tuple[Activation, ...]:
    """The activations pending when ``log`` (dispatched) held ``upto`` entries and
    ``done`` (completed) held ``done_upto``: what a :class:`PendingLog` reads."""
    finished = {id(a) for a in done[:done_upto]}
    return tuple(a for a in log[:upto] if id(a) not in finished)



@dataclass(slots=True)
class Counters:
    activation: int        # the next activation id
    frame: int             # the next frame id
    dispatched: int        # node executions started (what max_steps counts)


@dataclass(slots=True)
class Position:
    """Where a run is. Its frames are as they were then (copies, or FramesAt marks):
    the run goes on changing its own.

    The counters are three plain fields (one object less at every step of every
    run); :attr:`counters` groups them."""

    pending: Sequence[Activation]
    waiting: tuple[WaitEntry, ...]
    continuing: tuple[Activation, ...]
    frames: Sequence[Frame]
    next_activation: int
    next_frame: int
    dispatched: int
    path: str = ""        # "" for a run's own graph, "node/node" for a subgraph's
    format: int = FORMAT

    @property
    def counters(self) -> Counters:
        return Counters(self.next_activation, self.next_frame, self.dispatched)

    @property
    def waiting_by_id(self) -> dict[str, WaitEntry]:
        return {w.id: w for w in self.waiting}

    @property
    def idle(self) -> bool:
        """Nothing pending, waiting or going on: the run had ended here."""
        return not (self.pending or self.waiting or self.continuing)

    def continuing_after(self, node: str) -> Position:
        """This position plus a branch that goes on along ``node``'s edges (what a write
        "as" ``node`` leaves: its edges are taken from the state written)."""
        return Position(self.pending, self.waiting,
                        (*self.continuing, Activation(self.next_activation, node, ())),
                        self.frames, self.next_activation + 1, self.next_frame,
                        self.dispatched, self.path)

    def answered(self, entry_id: str, answer: Any) -> Position:
        """This position with the waiting branch ``entry_id`` answered: its activation
        pending again with the answer (or, for a pause after a node, going on along
        its edges), as a run that took the answer live would checkpoint it."""
        entry = self.waiting_by_id[entry_id]
        runs_again, act = answered_activation(entry, answer)
        waiting = tuple(w for w in self.waiting if w.id != entry_id)
        if runs_again:
            return Position((*self.pending, act), waiting, self.continuing, self.frames,
                            self.next_activation, self.next_frame, self.dispatched,
                            self.path)
        return Position(tuple(self.pending), waiting, (*self.continuing, act), self.frames,
                        self.next_activation, self.next_frame, self.dispatched, self.path)

    @classmethod
    def empty(cls, dispatched: int = 0) -> Position:
        return cls((), (), (), (), 0, 0, dispatched)

    @classmethod
    def start(cls, entry_point: str) -> Position:
        """Before the first step: the entry point is dispatched (activation 0)."""
        return cls((Activation(0, entry_point, ()),), (), (), (), 1, 0, 1)


# -- encoding --------------------------------------------------------------------------
def encode(p: Position) -> dict[str, Any]:
    """The JSON form of ``p`` (format 3)."""
    return {
        "format": FORMAT,
        "path": p.path,
        "pending": [_activation(a) for a in p.pending],
        "waiting": [{"id": w.id, "kind": w.kind, "node": w.node, "payload": w.payload,
                     "schema": w.schema, "activation": _activation(w.activation)}
                    for w in p.waiting],
        "continuing": [_activation(a) for a in p.continuing],
        "frames": [_frame(f) for f in p.frames],
        "counters": {"activation": p.next_activation, "frame": p.next_frame,
                     "dispatched": p.dispatched},
    }


def _activation(a: Activation) -> dict[str, Any]:
    d: dict[str, Any] = {"id": a.id, "node": a.node, "frames": [list(f) for f in a.frames]}
    if a.item is not NO_ITEM:
        d["item"] = a.item
        d["index"] = a.index
    if a.answers:
        d["answers"] = a.answers
    return d


def _frame(f: Frame) -> dict[str, Any]:
    return {
        "id": f.id, "kind": f.kind, "origin": f.origin, "join": f.join,
        "parent": [list(p) for p in f.parent], "expected": f.expected,
        "arrived": f.arrived, "ended": f.ended,
        "writers": {k: list(v) for k, v in f.writers.items()},
        "target": f.target, "item_key": f.item_key, "items": f.items,
        "next_index": f.next_index, "limit": f.limit,
        "results": {str(i): {"data": u.data, "errors": list(u.errors),
                             "warnings": list(u.warnings)}
                    for i, u in f.results.items()},
        **({"prefix": [list(p) for p in f.prefix]} if f.prefix else {}),
        **({"seqs": {str(b): n for b, n in f.seqs.items()}} if f.seqs else {}),
        **({"base": f.base, "log": [[[list(p) for p in k], w] for k, w in f.log]}
           if f.log else {}),
    }


# -- decoding --------------------------------------------------------------------------
def decode(data: dict[str, Any]) -> Position:
    """A position from its JSON form (format 2 or 3)."""
    fmt = data.get("format")
    if fmt not in READS:
        raise CheckpointFormatError(
            f"checkpoint position format {fmt!r} is not one this version reads "
            f"({', '.join(map(str, READS))}); "
            "open the store with the actorflow version that wrote it")
    c = data["counters"]
    return Position(
        pending=tuple(_read_activation(a) for a in data["pending"]),
        waiting=tuple(WaitEntry(w["id"], w["kind"], w["node"], w.get("payload"),
                                w.get("schema"), _read_activation(w["activation"]))
                      for w in data["waiting"]),
        continuing=tuple(_read_activation(a) for a in data["continuing"]),
        frames=tuple(_read_frame(f) for f in data["frames"]),
        next_activation=int(c["activation"]), next_frame=int(c["frame"]),
        dispatched=int(c["dispatched"]), path=str(data.get("path") or ""),
    )


def decode_v1(pending: list[dict[str, Any]], frames: list[dict[str, Any]],
              step: int) -> Position | None:
    """A position from format 1's two lists; None when none was recorded (a checkpoint
    of a store that was not durable, which kept no counters and nothing pending)."""
    counters: dict[str, Any] | None = None
    open_frames: list[Frame] = []
    for f in frames:
        if f.get("kind") == "counters":
            counters = f
        else:
            open_frames.append(_read_frame(f))
    if counters is None and not pending and not open_frames:
        return None
    plain: list[Activation] = []
    waiting: list[WaitEntry] = []
    continuing: list[Activation] = []
    for a in pending:
        act = _read_activation(a)
        wait = a.get("wait")
        if wait is not None:
            waiting.append(WaitEntry(wait["id"], wait["kind"], wait["node"],
                                     wait.get("payload"), wait.get("schema"), act))
        elif a.get("continue_after"):
            continuing.append(act)
        else:
            plain.append(act)
    # Format 1 wrote no counters for a state edit of a run without checkpoints:
    # number on after everything recorded.
    ids = [a.id for a in plain + continuing] + [w.activation.id for w in waiting]
    c = counters or {}
    return Position(
        pending=tuple(plain), waiting=tuple(waiting), continuing=tuple(continuing),
        frames=tuple(open_frames),
        next_activation=max([int(c.get("activation", 0))] + [i + 1 for i in ids]),
        next_frame=max([int(c.get("frame", 0))] + [f.id + 1 for f in open_frames]),
        dispatched=int(c.get("dispatched", step)),
    )


def _read_activation(a: dict[str, Any]) -> Activation:
    return Activation(int(a["id"]), a["node"], tuple((int(x), int(y)) for x, y in a["frames"]),
                      a.get("item", NO_ITEM), a.get("index"), a.get("answers"))


def _read_frame(d: dict[str, Any]) -> Frame:
    return Frame(
        id=int(d["id"]), kind=d["kind"], origin=d["origin"], join=d["join"],
        parent=tuple((int(a), int(b)) for a, b in d["parent"]), expected=d["expected"],
        arrived=d["arrived"], ended=d["ended"],
        writers={k: (int(v[0]), str(v[1])) for k, v in d["writers"].items()},
        target=d["target"], item_key=d["item_key"], items=list(d["items"]),
        next_index=d["next_index"], limit=d["limit"],
        results={int(i): StateUpdate(u["data"], u["errors"], u["warnings"])
                 for i, u in d["results"].items()},
        prefix=_read_key(d.get("prefix", ())),
        seqs={int(b): int(n) for b, n in d.get("seqs", {}).items()},
        base=dict(d.get("base", {})),
        log=[(_read_key(k), list(w)) for k, w in d.get("log", ())],
    )


def _read_key(k: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(b), int(n)) for b, n in k)
