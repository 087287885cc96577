"""Live-log frames written to a WebSocket below Quart's per-message send (issue 10, item 5).

``websocket.send`` is one ASGI message: Quart yields, Hypercorn encodes the message with
wsproto and writes it to the socket, one write per message per client. With 500 clients
on one run that was most of the server's CPU. Here a client that is several messages
behind gets them in one write: each message's frame is encoded once for every client
(:func:`text_frame`, the same bytes shared), the frames waiting for a client are joined
and handed to Hypercorn's connection as one piece of data, which it writes as it writes
its own frames (same lock, same order). What goes on the wire is what ``websocket.send``
would have sent: one JSON message per text frame.

Only where that holds (:meth:`Wire.of`): a Hypercorn WebSocket stream, open, whose
connection negotiated no extension. With permessage-deflate each frame is compressed in
the connection's own context, so there each message is encoded by the connection (still
one write for all of them). Any other server gets ``websocket.send`` per message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from hypercorn.protocol.events import Data
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import TextMessage

from .ws_direct import direct_writer

__all__ = ["Wire", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 section 5.2: a server never masks)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class Wire:
    """The Hypercorn stream under one Quart ``websocket``, written in whole frames."""

    def __init__(self, stream: WSStream, on_write: Callable[[int], None] | None = None
                 ) -> None:
        self._stream = stream
        self._on_write = on_write   # called with the number of frames of each write
        #: Frames from :func:`text_frame` are what this connection would send itself.
        self.plain = not stream.connection._proto.extensions
        #: The connection written at once when it takes the data (api.ws_direct).
        self._direct = direct_writer(stream)

    @classmethod
    def of(cls, websocket: Any, on_write: Callable[[int], None] | None = None
           ) -> Wire | None:
        """The wire under Quart's ``websocket`` (its ASGI send is Hypercorn's stream's),
        or None when it is not one this module knows how to write to."""
        send = getattr(websocket, "_send", None)
        if not isinstance(send, functools.partial) or not send.args:
            return None
        stream = getattr(send.args[0], "__self__", None)
        if not isinstance(stream, WSStream) or getattr(stream, "connection", None) is None:
            return None
        return cls(stream, on_write)

    def open(self) -> bool:
        stream = self._stream
        return (not stream.closed and stream.state is ASGIWebsocketState.CONNECTED
                and stream.connection.state is ConnectionState.OPEN)

    def write_now(self, messages: Sequence[tuple[str, bytes]], joined: bytes | None = None
                  ) -> Coroutine[Any, Any, None] | None:
        """Send each ``(text, frame)`` as one message, all in one write; ``frame`` is
        ``text_frame`` of the text, used as is on a plain connection (``joined``: the
        frames joined already, shared by clients). None when it is all written already
        (to a connection that took it at once, :mod:`api.ws_direct`: no scheduler turn,
        no send deadline), else what
        writes it (await it at once)."""
        stream = self._stream
        if self.plain:
            data = joined if joined is not None else b"".join([f for _, f in messages])
        else:
            send = stream.connection.send
            data = b"".join([send(TextMessage(data=text)) for text, _ in messages])
        sent = self._direct.write_now(data) if self._direct is not None else None
        if sent == len(data):
            if self._on_write is not None:
                self._on_write(len(messages))
            return None
        return self._write_rest(data, sent, len(messages))

    async def write(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """:meth:`write_now`, awaited."""
        rest = self.write_now(messages)
        if rest is not None:
            await rest

    async def _write_rest(self, data: bytes, sent: int | None, count: int) -> None:
        if sent is None or self._direct is None:
            stream = self._stream
            await stream.send(Data(stream_id=stream.stream_id, data=data))
        else:
            await self._direct.write_rest(data, sent)
        if self._on_write is not None:
            self._on_write(count)
