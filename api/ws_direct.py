"""Live-log writes straight to the socket under trio, when it takes them at once.

Under trio, a write through Hypercorn (``WSStream.send`` -> the HTTP/1.1 protocol ->
``TCPServer.protocol_send``: its lock, a shielded cancel scope, ``SocketStream.send_all``)
costs a lock, a cancel scope and two scheduler turns per write, even when the socket
takes all of it at once, as it does for a client that keeps up. With 500 clients on one
run, a round of writes was then two scheduler batches of 500 task switches each, with
the run's own actors queued behind them (the run 2.5x slower than alone, against 1.4x
on asyncio, whose ``transport.write`` does not yield).

:class:`DirectWrite` first tries one non-blocking ``send`` on the connection's socket,
which does not yield: a client that keeps up costs one system call per round. Only
when Hypercorn is not writing to that connection itself (its send lock is free), so
frames never interleave. What the socket does not take at once goes the way Hypercorn
sends it (under its lock, shielded, closing the connection when it broke), before
anything else is written to that connection.

Only for a plain TCP connection served by Hypercorn's trio worker; anything else (TLS,
asyncio, another server) gets None from :meth:`DirectWrite.of` and writes as before.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
import trio
from hypercorn.events import Closed
from hypercorn.protocol.ws_stream import WSStream
from hypercorn.trio.tcp_server import TCPServer

from .wire import CoalescingH11Protocol

__all__ = ["DirectWrite"]


class DirectWrite:
    """The socket under one Hypercorn trio WebSocket connection."""

    def __init__(self, lock: trio.Lock, stream: trio.SocketStream, *,
                 on_broken: Callable[[], Awaitable[None]],
                 coalescing: CoalescingH11Protocol | None = None) -> None:
        self._lock = lock               # Hypercorn's send lock of the connection
        self._stream = stream
        self._on_broken = on_broken     # what Hypercorn does when a send finds it broken
        self._coalescing = coalescing   # a response head it holds must go first

    @classmethod
    def of(cls, ws: WSStream) -> DirectWrite | None:
        """The direct writer for ``ws``'s connection, or None where this does not apply."""
        protocol = getattr(ws.send, "__self__", None)   # the HTTP/1.1 protocol
        if protocol is None:
            return None
        # The server's send: behind the coalescing protocol's own, else the protocol's.
        send = protocol._write if isinstance(protocol, CoalescingH11Protocol) else \
            getattr(protocol, "send", None)
        server = getattr(send, "__self__", None)
        if not isinstance(server, TCPServer) or not isinstance(server.stream,
                                                                trio.SocketStream):
            return None
        wrapper = server.protocol   # (set once the connection is accepted)
        return cls(server.send_lock, server.stream,
                   on_broken=lambda: wrapper.handle(Closed()),
                   coalescing=protocol if isinstance(protocol, CoalescingH11Protocol)
                   else None)

    def write_now(self, data: bytes) -> int | None:
        """Write what of ``data`` the socket takes now, without yielding; the bytes
        written, or None (nothing written) when it must go through Hypercorn instead
        (it is writing itself, or the socket failed). Fewer than ``len(data)``: the
        connection's send lock is now held, and :meth:`write_rest` must follow."""
        if self._lock.locked() or (self._coalescing is not None and self._coalescing._held):
            return None
        sock = self._stream.socket
        if sock.did_shutdown_SHUT_WR or sock.fileno() == -1:
            return None
        try:
            sent = os.write(sock.fileno(), data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return None   # Hypercorn's send meets the same error and closes the connection
        if sent < len(data):
            # A frame half written must not have another written into it: the rest
            # goes under Hypercorn's lock (free: nothing was awaited since the check).
            self._lock.acquire_nowait()
        return sent

    async def write_rest(self, data: bytes, sent: int) -> None:
        """Send ``data`` from ``sent`` on as Hypercorn's ``protocol_send`` would (shielded,
        a broken connection handed to it), then release the lock :meth:`write_now` took."""
        try:
            with trio.CancelScope(shield=True):
                await self._stream.send_all(memoryview(data)[sent:])
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._on_broken()
        finally:
            self._lock.release()
