"""Live-log writes straight to the connection, when it takes them at once.

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

Under asyncio a write through Hypercorn is the same chain of coroutines down to its
``protocol_send`` (its lock, ``writer.write``, ``writer.drain``), and the sender sets a
send deadline around it (a timer per client and round). :class:`AsyncioDirectWrite`
hands the data to the connection's transport at once when nothing of the connection is
waiting in its buffer (the client keeps up: the kernel took every earlier write) and
Hypercorn is not writing to it itself. ``transport.write`` never blocks nor yields;
what the kernel does not take stays in the transport's buffer, and the next write to
that connection goes Hypercorn's way, which waits for the buffer to drain (under the
sender's deadline, so a client that stopped reading is still dropped). A connection
therefore holds at most one write more than Hypercorn would let it.

Only for a plain TCP connection served by Hypercorn's trio or asyncio worker; anything
else (TLS, another server) gets None from :func:`direct_writer` and writes as before.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.asyncio.tcp_server import TCPServer as AsyncioTCPServer
from hypercorn.events import Closed
from hypercorn.protocol.ws_stream import WSStream
from hypercorn.trio.tcp_server import TCPServer

from .wire import CoalescingH11Protocol

__all__ = ["AsyncioDirectWrite", "DirectWrite", "direct_writer"]


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
        protocol, server = _server_of(ws)
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


class AsyncioDirectWrite:
    """The transport under one Hypercorn asyncio WebSocket connection."""

    def __init__(self, lock: asyncio.Lock, writer: asyncio.StreamWriter, *,
                 coalescing: CoalescingH11Protocol | None = None) -> None:
        self._lock = lock               # Hypercorn's send lock of the connection
        self._transport = writer.transport
        self._coalescing = coalescing   # a response head it holds must go first

    @classmethod
    def of(cls, ws: WSStream) -> AsyncioDirectWrite | None:
        """The direct writer for ``ws``'s connection, or None where this does not apply."""
        protocol, server = _server_of(ws)
        if not isinstance(server, AsyncioTCPServer):
            return None
        writer = server.writer
        if not isinstance(writer, asyncio.StreamWriter) or \
                writer.get_extra_info("ssl_object") is not None:
            return None
        return cls(server.send_lock, writer,
                   coalescing=protocol if isinstance(protocol, CoalescingH11Protocol)
                   else None)

    def write_now(self, data: bytes) -> int | None:
        """Hand all of ``data`` to the transport without yielding and return its length,
        or None (nothing written) when it must go through Hypercorn instead: it is
        writing itself, the connection is closing, or an earlier write still waits in
        the transport's buffer (Hypercorn's way drains it first)."""
        if self._lock.locked() or (self._coalescing is not None and self._coalescing._held):
            return None
        transport = self._transport
        if transport.is_closing() or transport.get_write_buffer_size():
            return None
        transport.write(data)
        return len(data)

    async def write_rest(self, data: bytes, sent: int) -> None:
        """Never needed: :meth:`write_now` writes all or nothing."""
        raise AssertionError("an asyncio direct write is never partial")


def direct_writer(ws: WSStream) -> DirectWrite | AsyncioDirectWrite | None:
    """The direct writer of ``ws``'s connection for its server's backend, or None."""
    return DirectWrite.of(ws) or AsyncioDirectWrite.of(ws)


def _server_of(ws: WSStream) -> tuple[Any, Any]:
    """``ws``'s HTTP/1.1 protocol and the connection server it writes through."""
    protocol = getattr(ws.send, "__self__", None)   # the HTTP/1.1 protocol
    if protocol is None:
        return None, None
    # The server's send: behind the coalescing protocol's own, else the protocol's.
    send = protocol._write if isinstance(protocol, CoalescingH11Protocol) else \
        getattr(protocol, "send", None)
    return protocol, getattr(send, "__self__", None)
