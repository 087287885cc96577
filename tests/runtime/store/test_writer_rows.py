"""Event rows queued without an op (Writer.put_row): written by the commit that a
later wait or flush asks for, and a row the database refuses fails its own run only,
with the error saying why, while the rest of its batch lands."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime.errors import StoreError
from runtime.events import Event, EventType
from runtime.store import Checkpoint
from runtime.store.sql import SQLStore

params = pytest.mark.parametrize


def _event(run: str, seq: int, node: str = "n") -> Event:
    return Event(seq, run, EventType.NODE_STARTED, time.time(), node)


@params("backend", BACKENDS)
def test_events_queued_before_an_acknowledged_step_are_in_the_file_with_it(
        backend: str, tmp_path: Path) -> None:
    """What a run was told is durable (its step's commit) holds the events it queued
    before that step, read back by another connection to the file (no flush, no
    store read), as a process started after a kill -9 would find them."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # only the wait below can get these rows written
        for seq in range(5):
            store.append_event(_event("r", seq))
        assert writer._s.rows_pending()   # queued as rows, not as ops
        mark = await store.queue_checkpoint(Checkpoint(run_id="r", step=0,
                                                       state={"data": {"n": 0}}))
        await store.wait_committed("r", mark)
        other = sqlite3.connect(tmp_path / "store.db")
        try:
            seqs = [r[0] for r in other.execute(
                "SELECT seq FROM events WHERE run_id = 'r' ORDER BY seq")]
            steps = [r[0] for r in other.execute(
                "SELECT step FROM checkpoints WHERE run_id = 'r'")]
        finally:
            other.close()
        assert seqs == [0, 1, 2, 3, 4]
        assert steps == [0]

    run_with_store("sqlite", backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_flush_writes_the_rows_queued_before_it(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60
        ops = store.stats.ops
        for seq in range(3):
            store.append_event(_event("r", seq))
        await store.flush()
        assert store.stats.ops == ops + 4   # three rows and the flush's empty op
        assert [e.seq for e in await store.read_events("r")] == [0, 1, 2]

    run_with_store(kind, backend, tmp_path, body)


_REFUSE_BAD_NODE = {
    "sqlite": ["CREATE TRIGGER refuse_bad BEFORE INSERT ON events WHEN NEW.node = 'bad' "
               "BEGIN SELECT RAISE(ABORT, 'node bad is refused'); END"],
    "postgres": [
        "CREATE FUNCTION refuse_bad() RETURNS trigger AS $$ BEGIN "
        "IF NEW.node = 'bad' THEN RAISE EXCEPTION 'node bad is refused'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_bad BEFORE INSERT ON events FOR EACH ROW "
        "EXECUTE FUNCTION refuse_bad()"],
}


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_refused_row_fails_its_run_with_the_cause_and_the_rest_of_the_batch_lands(
        kind: str, backend: str, tmp_path: Path) -> None:
    """Run ``a`` waits for a commit whose batch holds a row the database refuses: it
    hears that one of its writes was refused and why; run ``b``, in the same batch,
    has its events and its step written and hears nothing."""
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None

        async def ddl(s: object) -> None:
            for sql in _REFUSE_BAD_NODE[kind]:
                await s.raw_execute(sql)   # type: ignore[attr-defined]

        await store._run(ddl, writer=True)
        writer.linger = 60   # one batch: everything below, taken by the waits
        store.append_event(_event("a", 0))
        store.append_event(_event("a", 1, node="bad"))
        store.append_event(_event("b", 0))
        mark_a = await store.queue_checkpoint(Checkpoint(run_id="a", step=0,
                                                         state={"data": {"n": 0}}))
        mark_b = await store.queue_checkpoint(Checkpoint(run_id="b", step=0,
                                                         state={"data": {"n": 0}}))
        with pytest.raises(StoreError, match=r"write of run a was refused.*node bad is refused"):
            await store.wait_committed("a", mark_a)
        await store.wait_committed("b", mark_b)   # b's writes all landed
        assert [e.seq for e in await store.read_events("b")] == [0]
        assert (await store.latest_checkpoint("b")) is not None
        # a's good rows landed too: only the refused one is missing.
        assert [e.seq for e in await store.read_events("a")] == [0]
        assert store.stats.failed == 1

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
def test_events_of_an_acknowledged_step_survive_a_kill_9(backend: str, tmp_path: Path) -> None:
    """A process queues events as rows and a step, is told the step is committed, and
    is killed with SIGKILL: the step and the events queued before it are in the file."""
    path = tmp_path / "killed.db"
    here = Path(__file__).parent
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(here), str(here.parents[2])])}
    proc = subprocess.Popen(
        [sys.executable, str(here / "rows_then_wait.py"), f"sqlite:///{path}", backend],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"acked", proc.stderr.read() if proc.stderr else line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    db = sqlite3.connect(path)
    try:
        seqs = [r[0] for r in db.execute("SELECT seq FROM events ORDER BY seq")]
        steps = [r[0] for r in db.execute("SELECT step FROM checkpoints")]
    finally:
        db.close()
    assert steps == [0]
    assert seqs[:5] == [0, 1, 2, 3, 4]   # (5, queued after the ack, may or may not be)
