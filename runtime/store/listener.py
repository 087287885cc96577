"""LISTEN on one dedicated PostgreSQL connection, and come back when it drops.

A restart of the database (or a proxy, or ``pg_terminate_backend``) closes the
listening connection; without a new one this process would never again hear of
queued runs, other processes' events or cancels, and would fall back to its slow
safety-net polls for good. The keeper task notices the loss (asyncpg's termination
callback, checked again every :data:`CHECK_SECONDS`), opens a new connection with
backoff for as long as it takes, LISTENs again, and then calls ``on_reconnect``:
notifications sent while it was away are lost, so whoever relies on them re-reads
the database (the events table fills any gap by sequence number).

Everything here runs on the store's loop; the keeper is a task this object owns,
started by :meth:`start` and cancelled by :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .db import Db, backoff

__all__ = ["Listener"]

log = logging.getLogger("actorflow.store")

#: How often the keeper looks at the connection when no termination was reported
#: (a connection can die without the callback firing, say when it never opened).
CHECK_SECONDS = 2.0
CONNECT_TIMEOUT = 10.0


class Listener:
    """Calls ``channels[name](payload)`` for each NOTIFY on ``name``, across drops."""

    def __init__(self, db: Db, channels: dict[str, Callable[[str], None]],
                 on_reconnect: Callable[[], None] | None = None) -> None:
        self._db = db
        self._channels = channels
        self._on_reconnect = on_reconnect
        self._conn: Any = None       # an asyncpg connection
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0          # connections opened again after a drop

    async def start(self) -> None:
        """LISTEN now (errors go to the caller), then keep listening until stopped."""
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop()

    async def _connect(self) -> None:
        # Its own connection, outside the pool: the pool would take a dropped one back
        # (and hand a LISTENing session to other work).
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(_dsn(self._db.url), timeout=CONNECT_TIMEOUT)
        try:
            conn.add_termination_listener(self._terminated)
            for name, callback in self._channels.items():
                await conn.add_listener(name, _forward(callback))
        except BaseException:
            conn.terminate()
            raise
        self._lost.clear()
        self._conn = conn

    def _terminated(self, _conn: Any) -> None:
        self._lost.set()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception as exc:  # noqa: BLE001 - a dead connection may fail to close
                log.debug("closing the LISTEN connection failed: %r", exc)
                conn.terminate()

    def _alive(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _keep(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), CHECK_SECONDS)
            except TimeoutError:
                pass
            if self._alive():
                self._lost.clear()
                continue
            log.warning("the LISTEN connection to the database dropped; reconnecting")
            await self._drop()
            delay = 0.1
            while True:
                try:
                    await self._connect()
                    break
                except Exception as exc:  # noqa: BLE001 - an outage: retried until it ends
                    log.debug("LISTEN reconnect failed: %r", exc)
                await asyncio.sleep(delay)
                delay = backoff(delay)
            self.reconnects += 1
            log.warning("listening to the database again (reconnect %d)", self.reconnects)
            if self._on_reconnect is not None:
                self._on_reconnect()


def _forward(callback: Callable[[str], None]) -> Callable[[Any, int, str, str], None]:
    def listener(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        callback(payload)

    return listener


def _dsn(url: str) -> str:
    """The URL as asyncpg takes it (no SQLAlchemy-style driver suffix)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url
