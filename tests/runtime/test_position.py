"""The checkpoint position: one typed model, one encoder and decoder, a format version."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import hitlgraphs as hg
import pytest

from runtime import Runtime, RunWaiting
from runtime.errors import CheckpointFormatError
from runtime.frames import Frame
from runtime.position import (
    FORMAT,
    NO_ITEM,
    PendingLog,
    Activation,
    Counters,
    Position,
    WaitEntry,
    decode,
    decode_v1,
    encode,
)
from runtime.state import StateUpdate
from runtime.store import Checkpoint


def _position() -> Position:
    frame = Frame(3, "fanout", "begin", "join", ((1, 0),), 2, arrived=1,
                  writers={"k": (0, "a")})
    mapped = Frame(4, "map", "split", None, ((3, 1),), 2, target="x", items=["p", "q"],
                   next_index=2, limit=1, results={0: StateUpdate({"out": [1]}, ["e"], [])})
    return Position(
        pending=(Activation(7, "x", ((3, 1), (4, 1)), item="q", index=1),),
        waiting=(WaitEntry("a:5:1", "ask", "a", {"q": 1}, "m:Model",
                           Activation(5, "a", ((3, 0),), answers={"a:5:0": 2})),),
        continuing=(Activation(8, "c", ()),),
        frames=(frame, mapped),
        next_activation=9, next_frame=5, dispatched=8,
    )


def test_a_position_survives_its_json_form() -> None:
    p = _position()
    data = json.loads(json.dumps(encode(p)))
    assert data["format"] == FORMAT == 3
    assert decode(data) == p


def test_a_subgraph_position_keeps_its_path_through_format_3() -> None:
    p = _position()
    p.path = "review/check"
    data = json.loads(json.dumps(encode(p)))
    assert data["path"] == "review/check"
    assert decode(data).path == "review/check"


def test_a_format_2_position_still_reads_as_the_run_s_own_graph() -> None:
    data = json.loads(json.dumps(encode(_position())))
    del data["path"]
    data["format"] = 2
    assert decode(data) == _position()
    assert decode(data).path == ""


def test_a_position_in_a_format_this_version_does_not_know_is_refused_clearly() -> None:
    with pytest.raises(CheckpointFormatError, match="format 4"):
        decode({**encode(_position()), "format": 4})


def test_format_1_lists_decode_to_the_same_model() -> None:
    pending = [{"id": 7, "node": "x", "frames": [[3, 1]], "item": None, "index": 0},
               {"id": 5, "node": "a", "frames": [], "wait": {
                   "id": "a:5:1", "kind": "ask", "node": "a", "payload": 1, "schema": None}},
               {"id": 8, "node": "c", "frames": [], "continue_after": True}]
    frames = [{"kind": "counters", "activation": 9, "frame": 4, "dispatched": 8}]
    p = decode_v1(pending, frames, step=6)
    assert p is not None
    assert p.pending == (Activation(7, "x", ((3, 1),), None, 0),)   # a None item is an item
    assert p.waiting[0].activation == Activation(5, "a", ())
    assert p.waiting[0].activation.item is NO_ITEM
    assert p.continuing == (Activation(8, "c", ()),)
    assert p.counters == Counters(9, 4, 8)
    # A store that was not durable recorded nothing.
    assert decode_v1([], [], step=3) is None


async def test_sql_stores_write_format_3_in_one_column(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    async with Runtime(f"sqlite:///{db}") as rt:
        run = await rt.start(hg.approval_graph().compile(), {})
        with pytest.raises(RunWaiting):
            await run.result()
        cp = await rt.store.latest_checkpoint(run.id)
    with sqlite3.connect(db) as conn:
        position, pending, frames = conn.execute(
            "SELECT position, pending, frames FROM checkpoints WHERE run_id = ? "
            "ORDER BY step DESC LIMIT 1", (run.id,)).fetchone()
    assert (pending, frames) == ("[]", "[]")
    assert json.loads(position)["format"] == 3
    assert cp is not None and cp.position == decode(json.loads(position))
    assert [w.node for w in cp.position.waiting] == ["approve"]


def test_a_checkpoint_dumps_its_position_in_the_json_form_and_reads_it_back() -> None:
    cp = Checkpoint(run_id="r", step=1, state={"data": {}}, position=_position())
    dumped = json.loads(cp.model_dump_json())
    assert dumped["position"] == json.loads(json.dumps(encode(_position())))
    assert Checkpoint.model_validate(dumped).position == _position()
    assert cp.model_copy(deep=True).position == _position()


def test_a_pending_log_reads_the_activations_pending_at_its_step() -> None:
    log: list[Activation] = []
    done: list[Activation] = []
    first, second = Activation(0, "a", ()), Activation(1, "b", ())
    log += [first, second]
    at_two = PendingLog(log, done)
    done.append(first)
    again = Activation(0, "a", (), answers={"a:0:1": "yes"})   # answered: runs again
    log.append(again)
    at_three = PendingLog(log, done)
    assert at_two == (first, second)                 # later appends don't change it
    assert at_three == (second, again)
    assert copy.deepcopy(at_three) == (second, again)
    assert isinstance(copy.deepcopy(at_three), tuple)
