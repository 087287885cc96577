"""One socket write per fixed-length response (api/wire.py), through a real Hypercorn
serving the real app on loopback, on both backends.

The protocol's writes are recorded at its boundary with the server (the bytes handed
to the socket), and the client is a plain socket: each answer arrives whole, in one
write for a response of known length, and a streamed (chunked) response still gets
its head before its body.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
from _api_support import make_settings
from _in_process import hypercorn_serving
from hypercorn.events import RawData
from quart import Quart, Response

from api.app import create_app
from api.auth import declare
from api.auth.policy import PUBLIC
from api.wire import CoalescingH11Protocol, coalesced_responses
from runtime.store.memory import MemoryStore

WRITES: list[bytes] = []


class Recording(CoalescingH11Protocol):
    """Records what the protocol hands to the socket."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        write = self._write

        async def recorded(event: Any) -> None:
            if isinstance(event, RawData):
                WRITES.append(event.data)
            await write(event)

        self._write = recorded


def _app(backend: str) -> Quart:
    app = create_app(make_settings(backend), store=MemoryStore())

    @app.get("/test/stream")
    async def stream() -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"one,", b"two,", b"three"):
                yield part

        return Response(parts(), mimetype="text/plain")

    declare(app, "stream", PUBLIC)
    return app


@asynccontextmanager
async def _serving(backend: str) -> AsyncIterator[int]:
    with coalesced_responses(Recording):
        async with hypercorn_serving(_app(backend), backend) as (port, _):
            yield port


async def _exchange(stream: anyio.abc.ByteStream, request: bytes, *, head_only: bool = False
                    ) -> tuple[bytes, bytes]:
    """Send ``request``; the response's head and body (Content-Length or chunked)."""
    WRITES.clear()
    await stream.send(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    if head_only:
        return head, body
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    if length is not None:
        while len(body) < int(length.group(1)):
            body += await stream.receive()
        return head, body
    while not body.endswith(b"0\r\n\r\n"):
        body += await stream.receive()
    return head, body


async def test_a_response_of_known_length_is_one_write(anyio_backend: str) -> None:
    async with _serving(anyio_backend) as port, await anyio.connect_tcp("127.0.0.1", port) as s:
        for _ in range(2):  # and the keep-alive connection serves the next one
            head, body = await _exchange(s, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in body
            assert WRITES == [head + b"\r\n\r\n" + body]


async def test_a_response_without_body_still_gets_its_head(anyio_backend: str) -> None:
    async with _serving(anyio_backend) as port, await anyio.connect_tcp("127.0.0.1", port) as s:
        head, body = await _exchange(s, b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                     head_only=True)
        assert head.startswith(b"HTTP/1.1 200") and body == b""
        assert WRITES == [head + b"\r\n\r\n"]
        head, body = await _exchange(s, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in body


async def test_a_streamed_response_gets_its_head_first(anyio_backend: str) -> None:
    async with _serving(anyio_backend) as port, await anyio.connect_tcp("127.0.0.1", port) as s:
        head, body = await _exchange(s, b"GET /test/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
        assert WRITES[0] == head + b"\r\n\r\n"  # not held back until the body
        assert b"".join(WRITES) == head + b"\r\n\r\n" + body
        assert b"one," in body and b"three" in body
