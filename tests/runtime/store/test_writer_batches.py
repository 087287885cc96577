"""When the writer commits the steps nobody waits for: after ``linger``, or once one
run has RUN_BATCH checkpoints queued (before it reaches MAX_STEPS_AHEAD and stops)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from _store_support import BACKENDS, SQL_KINDS, run_with_store

from runtime.store import Checkpoint
from runtime.store.sql import SQLStore
from runtime.store.writer import RUN_BATCH
from runtime.supervisor import MAX_STEPS_AHEAD

params = pytest.mark.parametrize


def test_a_run_gets_its_commit_before_it_would_wait_for_one() -> None:
    assert 0 < RUN_BATCH < MAX_STEPS_AHEAD


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_run_with_run_batch_steps_queued_is_committed_without_linger(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(store: SQLStore) -> None:
        writer = store._writer
        assert writer is not None
        writer.linger = 60   # only the batch rule can commit these steps
        before = store.stats.commits

        async def step(run: str, n: int) -> int:
            return await store.queue_checkpoint(Checkpoint(run_id=run, step=n,
                                                           state={"data": {"n": n}}))

        # Two runs, each one step short: neither is due (the rule counts per run).
        for n in range(RUN_BATCH - 1):
            await step("a", n)
            await step("b", n)
        assert store.stats.commits == before
        mark = await step("a", RUN_BATCH - 1)
        with anyio.fail_after(10):
            while writer._s.resolved < mark:   # nobody waits: the batch rule commits
                await anyio.sleep(0.01)
        assert store.stats.commits == before + 1
        assert (await store.latest_checkpoint("b")) is not None   # rode along

    run_with_store(kind, backend, tmp_path, body)
