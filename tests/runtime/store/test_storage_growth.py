"""What a step stores grows with what the step changed, not with the state.

The security probe's graph, scaled down: a ``set`` node appends an item to an
``append`` key and loops. Before, every step stored the whole list again in its
checkpoint, its ``state_updated`` event and its execution log row (a 2 MB run took
626 MB of SQLite; 14 MB now); now the database grows by a small constant factor of the data
added, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime import Graph, Runtime
from runtime.store.sql import SQLStore

from _store_support import BACKENDS, SQL_KINDS, make_store, store_spec

params = pytest.mark.parametrize

ITEM = 10_000     # bytes appended per step
LOOPS = 200


def growing(item: str, loops: int) -> Graph:
    """The probe's graph: ``grow`` appends ``item`` to ``items`` until ``n`` = loops."""
    return Graph.from_json({
        "name": "grow", "entry_point": "grow",
        "nodes": [{"name": "grow", "tool": "set",
                   "config": {"values": {"items": item, "n": 1}}}],
        "edges": [{"from": "grow", "to": "grow", "condition": f"n < {loops}"},
                  {"from": "grow", "to": "END"}],
        "reducers": {"items": "append", "n": "add"}})


def incompressible(n: int) -> str:
    # Random: PostgreSQL's TOAST would shrink a repeated character to nothing.
    return base64.b64encode(os.urandom(n))[:n].decode()


async def grow(rt: Runtime, loops: int) -> int:
    """Bytes the database grew by for one run of ``loops`` steps."""
    store = rt.store
    assert isinstance(store, SQLStore)
    before = await store.database_bytes()
    run = await rt.start(growing(incompressible(ITEM), loops), {"n": 0}, max_steps=loops + 5)
    state = await run.result()
    assert len(state.data["items"]) == loops
    return await store.database_bytes() - before


def with_runtime(kind: str, backend: str, tmp_path: Path, body: Any) -> None:
    """``await body(rt)`` with a runtime on a fresh SQL store of ``kind``."""
    with store_spec(kind, tmp_path) as (url, options):
        async def main() -> None:
            store = make_store(url, options)
            assert isinstance(store, SQLStore)
            async with Runtime(store) as rt:
                await body(rt)

        anyio.run(main, backend=backend)


@params("backend", BACKENDS)
@params("kind", SQL_KINDS)
def test_a_growing_list_grows_the_database_by_a_small_factor_of_the_data_added(
        kind: str, backend: str, tmp_path: Path) -> None:
    async def body(rt: Runtime) -> None:
        grown = await grow(rt, LOOPS)
        added = ITEM * LOOPS
        # Per step: the item in the checkpoint delta and in the node_completed and
        # state_updated events, snapshots (amortised, about twice the deltas at
        # most); per run: the final state in the run row and its completion event
        # (~7x measured). Storing the list again per step was ~300x here.
        assert grown < 10 * added, (grown, added, grown / added)

    with_runtime(kind, backend, tmp_path, body)


@params("kind", SQL_KINDS)
def test_bytes_per_step_stay_constant_as_the_list_grows(kind: str, tmp_path: Path) -> None:
    """Twice the steps cost about twice the bytes (not four times: linear, not
    quadratic in the steps)."""
    async def body(rt: Runtime) -> None:
        short = await grow(rt, LOOPS // 2)
        long = await grow(rt, LOOPS)
        assert long < 2.6 * short, (short, long, long / short)

    with_runtime(kind, "asyncio", tmp_path, body)


@params("kind", SQL_KINDS)
def test_every_step_of_a_grown_list_is_rebuilt_exactly(kind: str, tmp_path: Path) -> None:
    """Deltas and the snapshots spaced by bytes still give each step's own state."""
    async def body(rt: Runtime) -> None:
        run = await rt.start(growing("x" * 100, 120), {"n": 0}, max_steps=130)
        await run.result()
        history = await rt.store.list_checkpoints(run.id)
        assert [c.step for c in history] == list(range(1, 121))
        for c in history:
            assert c.state["data"] == {"n": c.step, "items": ["x" * 100] * c.step}
            assert c.changed == {"items": ["x" * 100] * c.step, "n": c.step}
        page = await rt.store.list_checkpoints(run.id, after=57, limit=5)
        assert [c.step for c in page] == [58, 59, 60, 61, 62]
        assert [c.state for c in page] == [c.state for c in history[57:62]]
        assert (await rt.get_state(run.id, 77)).data["items"] == ["x" * 100] * 77
        assert isinstance(rt.store, SQLStore)
        usage = await rt.store.checkpoint_storage(run.id)
        assert 1 < usage["snapshots"] < 10, usage

    with_runtime(kind, "asyncio", tmp_path, body)
