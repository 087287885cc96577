"""``storage_bytes_per_step`` (issue 10): what the database grows by per step of the
security probe's loop, a ``set`` node appending a fixed-size item to an ``append`` key
(10 KB here; the probe's 100 KB filled 6 GB in 200 steps).

For 100, 200 and 400 steps (``--quick``: 50, 100, 200), each run on a fresh database:
the growth divided by the steps, and the *marginal* bytes per step between the two
longest runs. Linear storage shows as a marginal figure that stays a small constant
multiple of the item (the item is stored in the step's checkpoint delta, its
``node_completed`` and ``state_updated`` events, its log row, and in snapshots spaced
so that they take about as much as the deltas); quadratic storage shows as a per-step
figure that doubles with the steps. ``turns_500_mb``: a 500-turn thread-like run of 1 KB
messages, for comparison with LangGraph's 219 MB of checkpoint blobs for a 500-turn
thread (langgraph#7586). Items are random text: PostgreSQL's TOAST would compress a
repeated character to nothing.

SQLite: pages in use (``SQLStore.database_bytes``); PostgreSQL: its tables with
indexes and TOAST, in a database of its own per run.

    python -m tests.bench.storage [--quick]     # PostgreSQL from ACTORFLOW_TEST_POSTGRES_URL
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from runtime import Graph, Runtime
from runtime.store.sql import SQLStore

from .scale import fresh_database

ITEM = 10_000


def growing(item: str, loops: int) -> Graph:
    return Graph.from_json({
        "name": "bench_storage_grow", "entry_point": "grow",
        "nodes": [{"name": "grow", "tool": "set",
                   "config": {"values": {"items": item, "n": 1}}}],
        "edges": [{"from": "grow", "to": "grow", "condition": f"n < {loops}"},
                  {"from": "grow", "to": "END"}],
        "reducers": {"items": "append", "n": "add"}})


def _text(n: int) -> str:
    return base64.b64encode(os.urandom(n))[:n].decode()


async def _grown(url: str, item: int, loops: int) -> int:
    store = SQLStore(url)
    async with Runtime(store) as rt:
        before = await store.database_bytes()
        run = await rt.start(growing(_text(item), loops), {"n": 0}, max_steps=loops + 5)
        await run.result()
        return await store.database_bytes() - before


def grown(kind: str, pg: str | None, item: int, loops: int) -> int:
    """Bytes a fresh database of ``kind`` grew by for one run."""
    if kind == "postgresql":
        assert pg is not None
        with fresh_database(pg) as url:
            return anyio.run(_grown, url, item, loops)
    with tempfile.TemporaryDirectory(prefix="actorflow-bench-storage-") as tmp:
        return anyio.run(_grown, f"sqlite:///{Path(tmp) / 'store.db'}", item, loops)


def figures(kind: str, pg: str | None, quick: bool) -> dict[str, Any]:
    steps = (50, 100, 200) if quick else (100, 200, 400)
    total = {n: grown(kind, pg, ITEM, n) for n in steps}
    a, b = steps[-2], steps[-1]
    marginal = (total[b] - total[a]) / (b - a)
    return {
        "item_bytes": ITEM,
        "bytes_per_step": {str(n): round(total[n] / n) for n in steps},
        "marginal_bytes_per_step": round(marginal),
        "marginal_per_item_byte": round(marginal / ITEM, 2),
        "turns_500_mb": round(grown(kind, pg, 1000, 500) / 2**20, 2),
    }


def bench(pg: str | None, quick: bool = False) -> dict[str, Any]:
    """``{"sqlite": {...}, "postgresql": {...}}`` (PostgreSQL when ``pg`` is given)."""
    out = {"sqlite": figures("sqlite", None, quick)}
    if pg:
        out["postgresql"] = figures("postgresql", pg, quick)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.storage", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(json.dumps(bench(os.environ.get("ACTORFLOW_TEST_POSTGRES_URL"), args.quick),
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
