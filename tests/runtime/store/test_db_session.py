"""The SQLite session's transactions survive a caller cancelled at any await.

The store's units run on an asyncio loop (the caller's under asyncio, a worker thread's
under trio), so these tests drive that loop directly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runtime.store.db import Db
from runtime.store.schema import SQLITE


def _db(tmp_path: Path) -> Db:
    return Db(f"sqlite:///{tmp_path / 'db.sqlite'}", SQLITE, {},
              unavailable_timeout=5, busy_timeout=5)


def test_a_unit_cancelled_while_its_begin_runs_leaves_no_transaction_open(tmp_path: Path) -> None:
    async def main() -> None:
        db = _db(tmp_path)
        await db.connect()
        try:
            async with db.session(writer=True) as s:
                await s.execute("CREATE TABLE t (x INTEGER)")

                async def unit() -> None:
                    async with s.transaction():
                        await s.execute("INSERT INTO t VALUES (1)")

                task = asyncio.create_task(unit())
                await asyncio.sleep(0)  # the task now waits for BEGIN IMMEDIATE to run
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                # The next unit on the same connection starts its own transaction.
                async with s.transaction():
                    await s.execute("INSERT INTO t VALUES (2)")
                rows = await s.fetch("SELECT x FROM t ORDER BY x")
            assert [r["x"] for r in rows] == [2]
        finally:
            await db.disconnect()

    asyncio.run(main())
