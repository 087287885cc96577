"""Hold a SQLite file's lock from another connection, the way a second process would.

The runtime under test writes to the same file in the background (a group commit, a
lease, the audit log), so the lock is taken with retries, not at the first try: a
`BEGIN` that met one of those commits would otherwise fail the test at random."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio


@asynccontextmanager
async def sqlite_locked(path: Path | str, mode: str = "EXCLUSIVE",
                        within: float = 30.0) -> AsyncIterator[sqlite3.Connection]:
    """Yield a connection holding `BEGIN <mode>` on `path`; roll back on exit."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with anyio.fail_after(within):
            while True:
                try:
                    conn.execute(f"BEGIN {mode}")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    await anyio.sleep(0.01)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    finally:
        conn.close()
