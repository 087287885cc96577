"""Real ``actorflow worker`` processes sharing a real PostgreSQL database: a worker
SIGSTOPped past its lease is taken over and fenced off when it wakes, a SIGKILLed
worker's runs go on elsewhere, and a SIGTERMed worker hands its runs back at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from runtime import Runtime
from runtime.lease import ClusterSettings
from runtime.status import RunStatus
from runtime.store.base import RunRecord

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import clustergraphs  # noqa: E402

pytestmark = pytest.mark.timeout(180)


class Worker:
    """An ``actorflow worker`` subprocess whose log is collected as it comes."""

    def __init__(self, url: str, *args: str, backend: str = "asyncio") -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.getcwd()])}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; raise SystemExit(main())",
             "worker", "--database-url", url, "--backend", backend, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def text(self) -> str:
        return "".join(self.log)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)


@contextmanager
def workers() -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(url: str, *args: str, backend: str = "asyncio") -> Worker:
        w = Worker(url, *args, backend=backend)
        started.append(w)
        return w

    try:
        yield start
    finally:
        for w in started:
            w.stop()


async def until(what: Callable[[], object], seconds: float = 60) -> None:
    with anyio.fail_after(seconds):
        while not what():
            await anyio.sleep(0.05)


async def record(rt: Runtime, run_id: str) -> RunRecord:
    found = await rt.store.get_run(run_id)
    assert found is not None
    return found


async def wait_for(rt: Runtime, run_id: str, check: Callable[[RunRecord], bool],
                   seconds: float = 60) -> RunRecord:
    with anyio.fail_after(seconds):
        while not check(found := await record(rt, run_id)):
            await anyio.sleep(0.05)
    return found


def front(url: str) -> Runtime:
    return Runtime(url, cluster=ClusterSettings(execute=False))


FAST = ("--lease-seconds", "1.5", "--heartbeat-seconds", "0.3")


async def test_a_stopped_worker_is_taken_over_and_fenced_off_when_it_wakes(
        postgres_database: str) -> None:
    url = postgres_database
    with workers() as start:
        a = start(url, *FAST)
        async with front(url) as rt:
            view = await rt.submit(clustergraphs.chain(), {"pause": 0.6})
            await wait_for(rt, view.id, lambda r: r.status is RunStatus.RUNNING)
            with anyio.fail_after(60):
                while len(await rt.store.list_checkpoints(view.id)) < 2:
                    await anyio.sleep(0.05)
            a.signal(signal.SIGSTOP)  # a zombie: alive, holding a lease it cannot renew
            b = start(url, *FAST, backend="trio")
            done = await wait_for(rt, view.id, lambda r: r.status.finished)
            a.signal(signal.SIGCONT)
            await until(lambda: "lost the lease of run" in a.text)

            final = await record(rt, view.id)
            history = await rt.store.list_checkpoints(view.id)
        b_pid, a_pid = b.proc.pid, a.proc.pid
    assert done.status is RunStatus.COMPLETED and final.status is RunStatus.COMPLETED
    assert final.lease_epoch == 2 and final.interruptions == 1
    # Each step once, in order, and the state every checkpoint holds is the heir's.
    assert [c.step for c in history] == [1, 2, 3, 4, 5]
    assert [c.nodes for c in history] == [[f"s{i}"] for i in range(1, 6)]
    assert final.final_state is not None
    trail = final.final_state["data"]["trail"]
    assert [t["node"] for t in trail] == [f"s{i}" for i in range(1, 6)]
    assert trail == history[-1].state["data"]["trail"]
    assert {t["pid"] for t in trail} <= {a_pid, b_pid} and trail[-1]["pid"] == b_pid


async def test_a_killed_workers_runs_finish_on_another_within_the_lease(
        postgres_database: str) -> None:
    url = postgres_database
    with workers() as start:
        a = start(url, *FAST)
        async with front(url) as rt:
            views = [await rt.submit(clustergraphs.chain(), {"pause": 0.3}) for _ in range(6)]
            for v in views:
                await wait_for(rt, v.id, lambda r: r.status is RunStatus.RUNNING)
            a.signal(signal.SIGKILL)
            b = start(url, *FAST, backend="trio")
            finals = [await wait_for(rt, v.id, lambda r: r.status.finished) for v in views]
    assert all(r.status is RunStatus.COMPLETED for r in finals)
    for r in finals:
        assert r.final_state is not None
        assert [t["node"] for t in r.final_state["data"]["trail"]] == [
            f"s{i}" for i in range(1, 6)]
        assert r.final_state["data"]["trail"][-1]["pid"] == b.proc.pid
        assert r.interruptions == 1


async def test_a_terminated_worker_hands_its_runs_back_at_once(
        postgres_database: str) -> None:
    """The other worker's leases last ten minutes: only a hand-back lets it claim."""
    url = postgres_database
    slow = ("--lease-seconds", "600", "--heartbeat-seconds", "1")
    with workers() as start:
        a = start(url, *slow)
        async with front(url) as rt:
            views = [await rt.submit(clustergraphs.chain(), {"pause": 0.3}) for _ in range(4)]
            for v in views:
                await wait_for(rt, v.id, lambda r: r.status is RunStatus.RUNNING)
            b = start(url, *slow)
            a.signal(signal.SIGTERM)
            assert a.proc.wait(30) == 0
            try:
                finals = [await wait_for(rt, v.id, lambda r: r.status.finished) for v in views]
            except TimeoutError:
                raise AssertionError(f"A:\n{a.text}\nB:\n{b.text}") from None
    assert all(r.status is RunStatus.COMPLETED for r in finals)
    assert all(r.final_state and r.final_state["data"]["trail"][-1]["pid"] == b.proc.pid
               for r in finals)
