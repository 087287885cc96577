"""Durability levels (runtime/store/durability.py) and how the writer keeps a run's
history whole when the database refuses one of its steps (runtime/store/writer.py).

The settings are read back from the live connection that commits (PRAGMA synchronous,
SHOW synchronous_commit), on a real SQLite file and a real PostgreSQL database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime import Runtime, StoreError
from runtime.store import Checkpoint, RunRecord, open_store
from runtime.store.sql import SQLStore

params = pytest.mark.parametrize

#: What each level must set on the connection that commits, per database.
EXPECTED = {
    ("sqlite", "process"): {"journal_mode": "wal", "synchronous": "1"},   # NORMAL
    ("sqlite", "power"): {"journal_mode": "wal", "synchronous": "2"},     # FULL
    ("postgres", "process"): {"synchronous_commit": "off"},
    ("postgres", "power"): {"synchronous_commit": "on"},
}


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_the_default_level_is_process_and_sets_the_fast_crash_safe_settings(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: SQLStore) -> None:
        assert store.durability == "process"
        assert await store.durability_settings() == EXPECTED[(kind, "process")]

    run_with_store(kind, backend, tmp_path, body)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_the_power_level_sets_synchronous_full_and_synchronous_commit_on(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: SQLStore) -> None:
        assert store.durability == "power"
        assert await store.durability_settings() == EXPECTED[(kind, "power")]
        # A commit at this level still works as usual.
        await store.save_checkpoint(Checkpoint(run_id="r", step=0, state={"data": {}}))
        latest = await store.latest_checkpoint("r")
        assert latest is not None and latest.step == 0

    run_with_store(kind, backend, tmp_path, body, durability="power")


def test_an_unknown_level_is_refused_naming_the_levels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'process'.*'power'"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", durability="disk")


def test_a_memory_store_takes_no_durability() -> None:
    with pytest.raises(ValueError, match="memory"):
        Runtime(durability="process")


async def test_the_runtime_opens_a_store_url_at_the_level_asked(tmp_path: Path) -> None:
    async with Runtime(f"sqlite:///{tmp_path / 'rt.db'}", durability="power") as rt:
        assert isinstance(rt.store, SQLStore)
        assert await rt.store.durability_settings() == EXPECTED[("sqlite", "power")]


def test_a_store_object_at_another_level_is_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")   # process
    with pytest.raises(ValueError, match="durability='power'.*process"):
        Runtime(store, durability="power")


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_refused_checkpoint_refuses_the_runs_later_deltas_until_a_snapshot(
        kind: str, backend: str, tmp_path: Path) -> None:
    """Steps are queued without waiting, so a step can be refused while the next ones
    (deltas against it) are already queued: those must not be written either, the run
    hears of it, and its next checkpoint starts over with a snapshot."""
    def cp(step: int) -> Checkpoint:
        return Checkpoint(run_id="r", step=step, state={"data": {"n": step, "keep": "k"}},
                          changed={"n": step})

    async def body(store: SQLStore) -> None:
        await store.create_run(RunRecord(id="r", graph_name="g", status="running",
                                         lease_epoch=1))
        for step in (0, 1):
            await store.save_checkpoint(cp(step))
        with pytest.raises(StoreError, match="refused"):
            store.fences["r"] = 7          # a stale lease: the database refuses step 2
            await store.queue_checkpoint(cp(2))
            store.fences["r"] = 1          # step 3 itself would pass the fence
            mark = await store.queue_checkpoint(cp(3))
            await store.wait_committed("r", mark)
        assert [c.step for c in await store.list_checkpoints("r")] == [0, 1]
        await store.save_checkpoint(cp(4))  # a snapshot: nothing before it is needed
        history = await store.list_checkpoints("r")
        assert [c.step for c in history] == [0, 1, 4]
        assert history[-1].state == cp(4).state

    run_with_store(kind, backend, tmp_path, body, snapshot_every=1000)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_steps_queued_together_all_land_though_a_snapshot_drops_later_steps(
        kind: str, backend: str, tmp_path: Path) -> None:
    """A snapshot deletes the run's steps after it (left by a rewind), but not those
    queued after it in the same group commit."""
    def cp(step: int) -> Checkpoint:
        return Checkpoint(run_id="r", step=step, state={"data": {"n": step}})

    async def body(store: SQLStore) -> None:
        await store.save_checkpoint(cp(0))
        # One batch starting with a delta (1), with snapshots (2, 4, 6) after it.
        marks = [await store.queue_checkpoint(cp(step)) for step in range(1, 7)]
        await store.wait_committed("r", marks[-1])
        history = await store.list_checkpoints("r")
        assert [c.step for c in history] == list(range(7))
        assert [c.state for c in history] == [{"data": {"n": n}} for n in range(7)]

    run_with_store(kind, backend, tmp_path, body, snapshot_every=2)
