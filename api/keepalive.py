"""Hypercorn's connection server without per-request tasks: the keep-alive timeout with
one watcher task per connection, and (trio) responses written without a scheduler turn.

Hypercorn closes a connection that stays idle (no request in progress) for
``keep_alive_timeout`` seconds, and closes idle connections at once when the server
stops. It does so with a task per idle period: every request stops the connection's
idle task (cancel it and wait for it) and every response starts a new one, which
waits on the server's ``terminated`` event with a timeout (on asyncio one more task
and a timer inside ``wait_for``; on trio a ``nursery.start`` and a lock). Under
keep-alive clients that is two or three tasks started and cancelled per request.

:class:`LeanTCPServer` (asyncio) and :class:`LeanTrioTCPServer` keep the same rules
with one watcher per connection: a request or a response only marks the connection
busy or idle (and when it went idle); the watcher sleeps until the idle deadline or
until the server stops, then closes the connection if it is (still) idle past its
deadline, or looks again later. A connection is thus closed at the same moment as
before, the server's stop still closes idle connections at once, and a request that
runs longer than the timeout is never cut.

Under trio Hypercorn also writes every response under the connection's send lock, in
a shielded cancel scope, through ``SocketStream.send_all``: a scheduler turn per
response even when the socket takes it at once. :class:`LeanTrioTCPServer` first
tries one non-blocking write when that lock is free (as :mod:`api.ws_direct` does for
live-log frames); what the socket does not take goes Hypercorn's way, under the lock.

Hypercorn has no setting for this and builds its connection server by name, so
:func:`lean_keepalive` swaps the classes in for the duration of a ``serve``
(``actorflow serve`` only), and only when Hypercorn still has the parts they rely on
(:func:`supported`); otherwise Hypercorn runs as it is. tests/api/test_keepalive.py
fails if a new version changes them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import trio
from hypercorn.asyncio.tcp_server import TCPServer as AsyncioTCPServer
from hypercorn.events import Closed, Event, RawData, Updated
from hypercorn.trio.tcp_server import MAX_RECV
from hypercorn.trio.tcp_server import TCPServer as TrioTCPServer

__all__ = ["LeanTCPServer", "LeanTrioTCPServer", "lean_keepalive", "supported"]


class _IdleState:
    """What both backends' lean servers share: the connection's idle state."""

    config: Any
    context: Any

    def _init_idle(self) -> None:
        self._idle = True  # a new connection is idle until its first request arrives
        self._idle_deadline = self.context.time() + self.config.keep_alive_timeout
        self._closed = False

    def _mark(self, event: Updated) -> bool:
        """Note a busy/idle change; False when the watcher must be restarted instead
        (the server is stopping: an idle connection closes now, as Hypercorn does)."""
        self._idle = event.idle
        if event.idle:
            if self.context.terminated.is_set():
                return False
            self._idle_deadline = self.context.time() + self.config.keep_alive_timeout
        return True

    def _next_wait(self) -> float | None:
        """Seconds the watcher sleeps before looking again; None: close the connection
        now; -1: stop watching (the connection is closing anyway)."""
        if self._closed:
            return -1.0
        if self.context.terminated.is_set():
            # Idle: close now. Busy: the response's end closes the connection (the
            # protocol does not recycle it once the server stops), or goes idle through
            # a restart of the watcher (see _mark).
            return None if self._idle else -1.0
        if not self._idle:
            return float(self.config.keep_alive_timeout)  # busy: look again later
        left = self._idle_deadline - self.context.time()
        return left if left > 0 else None


class LeanTCPServer(_IdleState, AsyncioTCPServer):
    """Hypercorn's asyncio connection server, one idle watcher per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_idle()

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated) and self._mark(event):
            return
        await super().protocol_send(event)

    async def _close(self) -> None:
        self._closed = True
        await super()._close()

    async def _idle_timeout(self) -> None:
        # Started once per connection by TCPServer.run (and again only when the
        # server stops, see _IdleState._mark); stopped by _close.
        while True:
            wait = self._next_wait()
            if wait is None:
                break
            if wait < 0:
                return
            try:
                await asyncio.wait_for(self.context.terminated.wait(), wait)
            except asyncio.TimeoutError:
                pass
        await asyncio.shield(self._initiate_server_close())


class LeanTrioTCPServer(_IdleState, TrioTCPServer):
    """Hypercorn's trio connection server, one idle watcher per connection, and a
    write the socket takes at once made without Hypercorn's lock and cancel scope
    (see :meth:`protocol_send`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_idle()
        self._plain = isinstance(self.stream, trio.SocketStream)  # not TLS

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated) and self._mark(event):
            return
        if isinstance(event, RawData) and self._plain and not self.send_lock.locked():
            # Hypercorn writes under its send lock, in a shielded cancel scope, with
            # SocketStream.send_all: a lock, a scope and a scheduler turn per
            # response even when the socket takes it all at once, as it does for
            # nearly every response. Try that first, without yielding (as
            # api/ws_direct.py does for live-log frames).
            sent = _write_now(self.stream.socket, event.data)
            if sent is not None:
                if sent < len(event.data):
                    await self._write_rest(event.data, sent)
                return
        await super().protocol_send(event)

    async def _write_rest(self, data: bytes, sent: int) -> None:
        # What Hypercorn's protocol_send does, from ``sent`` on; the lock is taken
        # before anything else can run, so no other write lands inside this one.
        self.send_lock.acquire_nowait()
        try:
            with trio.CancelScope(shield=True):
                await self.stream.send_all(memoryview(data)[sent:])
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self.protocol.handle(Closed())
        finally:
            self.send_lock.release()

    async def _read_data(self) -> None:
        if self.config.read_timeout is not None:
            await super()._read_data()
            return
        # Hypercorn's loop, without the cancel scope it opens around every read even
        # when there is no read timeout (a deadline of infinity).
        while True:
            try:
                data = await self.stream.receive_some(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            await self.protocol.handle(RawData(bytes(data)))
            if data == b"":
                break
        await self.protocol.handle(Closed())

    async def _close(self) -> None:
        self._closed = True
        await super()._close()

    async def _idle_timeout(self) -> None:
        while True:
            wait = self._next_wait()
            if wait is None:
                break
            if wait < 0:
                return
            with trio.move_on_after(wait):
                await self.context.terminated.wait()
        with trio.CancelScope(shield=True):
            await self._initiate_server_close()


def _write_now(sock: Any, data: bytes) -> int | None:
    """The bytes of ``data`` a non-blocking socket takes now (0: none, it is full), or
    None when it failed or is shut (Hypercorn's own send then meets the same and
    closes the connection)."""
    if sock.did_shutdown_SHUT_WR or sock.fileno() == -1:
        return None
    try:
        return os.write(sock.fileno(), data)
    except BlockingIOError:
        return 0
    except OSError:
        return None


#: What the lean servers rely on in Hypercorn's, per backend module.
_NEEDED = ("run", "protocol_send", "_read_data", "_close", "_idle_timeout",
           "_initiate_server_close")


def supported(base: type[Any]) -> bool:
    """Whether Hypercorn's connection server ``base`` still has the parts the lean one
    overrides and calls (else Hypercorn is left as it is)."""
    return all(callable(getattr(base, name, None)) for name in _NEEDED)


@contextmanager
def lean_keepalive() -> Iterator[None]:
    """Hypercorn serves connections with the lean servers within the block."""
    import hypercorn.asyncio.run as asyncio_run
    import hypercorn.trio.run as trio_run

    swaps: list[tuple[Any, Any]] = []
    modules: tuple[tuple[Any, type[Any]], ...] = (
        (asyncio_run, LeanTCPServer), (trio_run, LeanTrioTCPServer))
    for module, lean in modules:
        # hypercorn.{asyncio,trio}.run build each connection's server by this name.
        original = getattr(module, "TCPServer", None)
        if original is lean.__bases__[-1] and supported(original):
            swaps.append((module, original))
            module.TCPServer = lean
    try:
        yield
    finally:
        for module, original in swaps:
            module.TCPServer = original
