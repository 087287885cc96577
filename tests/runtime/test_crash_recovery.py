"""A process killed with SIGKILL mid-run loses nothing: the next one finishes its runs.

A real subprocess runs the workload of ``crashgraph.py`` on a real SQLite file or
PostgreSQL database; the test kills it once checkpoints exist, then opens a
Runtime on the same store and waits for every run to finish with the right state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import crashgraph
import pytest
from storeopen import opened

from runtime import Runtime, RunWaiting

RUNS = 3
HERE = Path(__file__).parent


def _spawn(url: str, runs: int, mode: str) -> subprocess.Popen[bytes]:
    """Start the workload ``crashgraph.py URL RUNS MODE``; return once it says started."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    proc = subprocess.Popen([sys.executable, str(HERE / "crashgraph.py"), url, str(runs),
                             mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"started":
        _kill(proc)
        raise AssertionError(proc.stderr.read() if proc.stderr else line)
    return proc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


async def _recover_all(url: str, **runtime_kw: Any) -> set[str]:
    """Open a runtime on ``url`` (its recovery resumes every unfinished run) and wait for
    the runs it resumed; their ids."""
    async with Runtime(url, **runtime_kw) as rt:
        resumed = {r.id for r in rt.runs()}
        for run in list(rt.runs()):
            await run.wait()
    return resumed


def _start_and_kill(url: str, *, resume_only: bool = False, mode: str = "loops") -> None:
    proc = _spawn(url, 0 if resume_only else RUNS, mode)
    try:
        if mode == "ask":
            anyio.run(_wait_for_waiting, url)
        else:
            anyio.run(_wait_for_progress, url, resume_only)
    finally:
        _kill(proc)


async def _poll(url: str, ready, what: str) -> None:  # type: ignore[no-untyped-def]
    """Until ``await ready(store)`` holds, reading the store from outside the workload."""
    async with opened(url) as store:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if await ready(store):
                return
            await anyio.sleep(0.02)
        raise AssertionError(f"{what} in 20s")


async def _wait_for_progress(url: str, further: bool = False) -> None:
    """Until some checkpoints are stored (mid-run); with ``further``, until the resumed
    run has made progress beyond where it was."""
    async with opened(url) as store:
        first = await store.latest_checkpoint("loop-0")
    target = (first.step if (further and first is not None) else 0) + 3

    async def progressed(s):  # type: ignore[no-untyped-def]
        cp = await s.latest_checkpoint("loop-0")
        return cp is not None and cp.step >= target

    await _poll(url, progressed, "the workload made no progress")


async def _wait_for_waiting(url: str) -> None:
    async def paused(s):  # type: ignore[no-untyped-def]
        return len(await s.list_runs(status="waiting")) == RUNS

    await _poll(url, paused, "the runs did not pause")


async def _resume_after_kill(url: str) -> None:
    import hitlgraphs

    hitlgraphs.CALLS.clear()
    async with Runtime(url) as rt:
        # Waiting runs are not resumed by recovery: they wait for an answer.
        assert rt.runs() == []
        for i in range(RUNS):
            run_id = f"ask-{i}"
            record = await rt.store.get_run(run_id)
            assert record is not None and record.status == "waiting"
            run = await rt.resume(run_id, f"a{i}", interrupt_id="ask_a:1:1")
            with pytest.raises(RunWaiting):
                await run.result()
            run = await rt.resume(run_id, f"b{i}", interrupt_id="ask_b:2:1")
            final = await run.result()
            assert final.data["a"] == f"a{i}" and final.data["b"] == f"b{i}"
            assert final.data["joined"] == ["a", "b", "plain"]
    # In this process only the waiting nodes ran again, never the finished branches.
    assert "plain" not in hitlgraphs.CALLS and "begin" not in hitlgraphs.CALLS


async def _recover_and_check(url: str) -> None:
    assert await _recover_all(url) >= {f"loop-{i}" for i in range(RUNS)}
    async with opened(url) as store:
        for i in range(RUNS):
            loop = await store.get_run(f"loop-{i}")
            assert loop is not None and loop.status == "completed", loop
            assert loop.final_state is not None
            data = loop.final_state["data"]
            assert data["counter"] == crashgraph.LOOPS
            # At least once: the tick in flight at the kill may have run twice, but
            # every counter value was reached and the state went on from the checkpoint.
            assert sorted(set(data["visits"])) == list(range(crashgraph.LOOPS))
            assert loop.interruptions == 1
            fan = await store.get_run(f"fan-{i}")
            assert fan is not None and fan.status == "completed", fan
            assert fan.final_state is not None
            assert fan.final_state["data"]["total"] >= 8
            assert sorted(set(fan.final_state["data"]["parts"])) == sorted(
                [f"b{k}" for k in range(4)] + [f"c{k}" for k in range(4)])
            history = await store.list_checkpoints(f"loop-{i}")
            assert [c.step for c in history] == sorted(c.step for c in history)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sqlite_runs_killed_mid_run_finish_after_restart(tmp_path: Path, backend: str) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    _start_and_kill(url)
    anyio.run(_recover_and_check, url, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_postgres_runs_killed_mid_run_finish_after_restart(postgres_database: str,
                                                          backend: str) -> None:
    _start_and_kill(postgres_database)
    anyio.run(_recover_and_check, postgres_database, backend=backend)


def test_a_run_interrupted_too_often_fails_instead_of_resuming(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"

    # Three crashes: the first start, then two recoveries that die too (the workload
    # process claims the orphaned runs of the previous one before being killed).
    for _ in range(3):
        _start_and_kill(url, resume_only=_ > 0)

    async def go() -> None:
        await _recover_all(url, max_interruptions=2)
        async with opened(url) as store:
            record = await store.get_run("loop-0")
            assert record is not None
            # The third crash exceeded the limit: failed with a clear error, not resumed.
            assert record.status == "failed"
            assert record.error_type == "RunInterrupted"
            assert "interrupted 3 times" in (record.error or "")

    anyio.run(go)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_waiting_runs_survive_a_kill_and_resume_in_a_new_process(durable_url: str,
                                                                 backend: str) -> None:
    _start_and_kill(durable_url, mode="ask")
    anyio.run(_resume_after_kill, durable_url, backend=backend)


# -- the default durability level: queued steps, kill -9, nothing lost ----------------------

#: Short runs the killed process must have reported finished before it is killed.
REPORTED = 3


def _kill_while_stepping(url: str) -> list[str]:
    """Run ``crashgraph.py URL N steps`` (long runs stepping as fast as the store takes
    them, short runs reported one by one), SIGKILL it right after its REPORTED-th
    report; return the run ids it reported finished."""
    proc = _spawn(url, RUNS, "steps")
    reported: list[str] = []
    try:
        assert proc.stdout is not None
        while len(reported) < REPORTED:
            line = proc.stdout.readline()
            assert line.startswith(b"done "), proc.stderr.read() if proc.stderr else line
            reported.append(line.split()[1].decode())
    finally:
        _kill(proc)
    return reported


async def _nothing_lost(url: str, reported: list[str]) -> None:
    async with opened(url) as store:
        assert getattr(store, "durability", None) == "process"   # the default level
        # What the killed process reported finished is stored finished, as it was.
        for run_id in reported:
            record = await store.get_run(run_id)
            assert record is not None and record.status == "completed", record
            assert record.final_state is not None
            assert record.final_state["data"]["n"] == crashgraph.SHORT
        # The long runs were mid-run (their steps queued, not awaited, at the kill).
        for i in range(RUNS):
            record = await store.get_run(f"long-{i}")
            assert record is not None and record.status == "running", record
    await _recover_all(url)
    async with opened(url) as store:
        for i in range(RUNS):
            run_id = f"long-{i}"
            record = await store.get_run(run_id)
            assert record is not None and record.status == "completed", record
            assert record.final_state is not None and record.interruptions == 1
            assert record.final_state["data"]["n"] == crashgraph.LONG
            # The history is whole: one checkpoint per step, each the state it had then
            # (the steps lost with the process ran again from the last committed one).
            history = await store.list_checkpoints(run_id)
            assert [c.step for c in history] == list(range(1, crashgraph.LONG + 1))
            assert all(c.state["data"]["n"] == c.step for c in history)
            # And so is the event log: no sequence number missing.
            seqs = [e.seq for e in await store.read_events(run_id)]
            assert seqs == list(range(len(seqs)))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sqlite_kill_9_while_steps_are_queued_loses_nothing(tmp_path: Path,
                                                            backend: str) -> None:
    url = f"sqlite:///{tmp_path / 'steps.db'}"
    reported = _kill_while_stepping(url)
    anyio.run(_nothing_lost, url, reported, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_postgres_kill_9_while_steps_are_queued_loses_nothing(postgres_database: str,
                                                              backend: str) -> None:
    reported = _kill_while_stepping(postgres_database)
    anyio.run(_nothing_lost, postgres_database, reported, backend=backend)
