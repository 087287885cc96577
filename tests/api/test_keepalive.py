"""Hypercorn's keep-alive timeout with one watcher per connection (api/keepalive.py),
through a real Hypercorn serving the real app on loopback, on both backends, with a
plain socket as the client.

The rules are Hypercorn's: a connection idle for ``keep_alive_timeout`` is closed, a
request longer than that is not cut, stopping the server closes idle connections at
once. What changes is the cost: one watcher started per connection, not one per
request.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import hypercorn.asyncio.run
import hypercorn.trio.run
import pytest
from _api_support import make_settings
from _in_process import hypercorn_serving
from hypercorn.asyncio.tcp_server import TCPServer as AsyncioTCPServer
from hypercorn.events import RawData
from hypercorn.trio.tcp_server import TCPServer as TrioTCPServer
from quart import Quart, Response

from api.app import create_app
from api.auth import declare
from api.auth.policy import PUBLIC
from api.keepalive import LeanTCPServer, LeanTrioTCPServer, lean_keepalive, supported
from runtime.store.memory import MemoryStore

HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
SLOW = b"GET /test/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BIG = b"GET /test/big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
#: Far more than a loopback socket's buffer takes at once.
BIG_BODY = bytes(range(256)) * (32 * 1024)


def _app(backend: str) -> Quart:
    app = create_app(make_settings(backend), store=MemoryStore())

    @app.get("/test/slow")
    async def slow() -> dict[str, bool]:
        await anyio.sleep(1.5)
        return {"slow": True}

    @app.get("/test/big")
    async def big() -> Response:
        return Response(BIG_BODY, content_type="application/octet-stream")

    declare(app, "slow", PUBLIC)
    declare(app, "big", PUBLIC)
    return app


@asynccontextmanager
async def _serving(backend: str, keep_alive: float) -> AsyncIterator[tuple[int, anyio.Event]]:
    """The app served by Hypercorn with the lean servers; yields (port, stop)."""
    with lean_keepalive():
        async with hypercorn_serving(_app(backend), backend,
                                     keep_alive_timeout=keep_alive) as served:
            yield served


class _Client:
    """A plain keep-alive HTTP/1.1 client over one connection (Content-Length framing)."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, requests: bytes) -> None:
        await self.stream.send(requests)

    async def answer(self) -> bytes:
        """The next whole response."""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += await self.stream.receive()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(rest) < length:
            rest += await self.stream.receive()
        self.buffer = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]


async def _ask(stream: anyio.abc.ByteStream, request: bytes) -> bytes:
    """Send ``request``; the whole response."""
    client = _Client(stream)
    await client.send(request)
    return await client.answer()


async def _closed_by_server(stream: anyio.abc.ByteStream) -> bool:
    try:
        await stream.receive()
    except (anyio.EndOfStream, anyio.BrokenResourceError):
        return True
    return False


@pytest.fixture
def watchers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each idle watcher started, by connection server."""
    started: list[object] = []
    for cls in (LeanTCPServer, LeanTrioTCPServer):
        original = cls._idle_timeout

        async def counted(self: Any, _original: Any = original) -> None:
            started.append(self)
            await _original(self)

        monkeypatch.setattr(cls, "_idle_timeout", counted)
    return started


async def test_requests_on_one_connection_start_one_idle_watcher(
        anyio_backend: str, watchers: list[object]) -> None:
    async with _serving(anyio_backend, keep_alive=30) as (port, _):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            for _ in range(5):
                assert (await _ask(s, HEALTH)).startswith(b"HTTP/1.1 200")
        # Hypercorn's own server starts one per request, and one per connection (the
        # serving helper's probe connections are in the list too: one each).
        assert watchers and all(type(w) in (LeanTCPServer, LeanTrioTCPServer) for w in watchers)
        assert max(Counter(map(id, watchers)).values()) == 1


async def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(
        anyio_backend: str) -> None:
    async with _serving(anyio_backend, keep_alive=2) as (port, _):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            # Requests spaced by less than the timeout keep the connection, for longer
            # than the timeout in all.
            for _ in range(5):
                assert (await _ask(s, HEALTH)).startswith(b"HTTP/1.1 200")
                await anyio.sleep(0.5)
            with anyio.fail_after(30):
                assert await _closed_by_server(s)


async def test_a_request_longer_than_the_keep_alive_timeout_is_not_cut(
        anyio_backend: str) -> None:
    async with _serving(anyio_backend, keep_alive=0.5) as (port, _):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            answer = await _ask(s, SLOW)  # 1.5 s of work, three times the timeout
            assert answer.startswith(b"HTTP/1.1 200") and b'"slow":true' in answer
            # and the connection is kept for the next request
            assert (await _ask(s, HEALTH)).startswith(b"HTTP/1.1 200")


async def test_stopping_the_server_closes_idle_connections_at_once(anyio_backend: str) -> None:
    async with _serving(anyio_backend, keep_alive=600) as (port, stop):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            assert (await _ask(s, HEALTH)).startswith(b"HTTP/1.1 200")
            stop.set()
            with anyio.fail_after(60):  # far below the 600 s keep-alive timeout
                assert await _closed_by_server(s)


@pytest.fixture
def hypercorn_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What went to the socket through Hypercorn's own trio protocol_send."""
    writes: list[bytes] = []
    original = TrioTCPServer.protocol_send

    async def recorded(self: Any, event: Any) -> None:
        if isinstance(event, RawData):
            writes.append(event.data)
        await original(self, event)

    monkeypatch.setattr(TrioTCPServer, "protocol_send", recorded)
    return writes


@pytest.mark.backends("trio")
async def test_under_trio_a_response_the_socket_takes_goes_without_hypercorns_send(
        anyio_backend: str, hypercorn_writes: list[bytes]) -> None:
    async with _serving(anyio_backend, keep_alive=30) as (port, _):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            for _ in range(3):
                assert (await _ask(s, HEALTH)).startswith(b"HTTP/1.1 200")
    assert hypercorn_writes == []


@pytest.mark.backends("trio")
async def test_under_trio_what_the_socket_does_not_take_follows_whole_and_in_order(
        anyio_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rests: list[int] = []
    original = LeanTrioTCPServer._write_rest

    async def recorded(self: Any, data: bytes, sent: int) -> None:
        rests.append(len(data) - sent)
        await original(self, data, sent)

    monkeypatch.setattr(LeanTrioTCPServer, "_write_rest", recorded)
    async with _serving(anyio_backend, keep_alive=30) as (port, _):
        async with await anyio.connect_tcp("127.0.0.1", port) as s:
            client = _Client(s)
            await client.send(BIG + HEALTH)  # two answers queued behind a full socket
            await anyio.sleep(0.5)           # let the socket fill before reading anything
            answer = await client.answer()
            assert answer.startswith(b"HTTP/1.1 200")
            assert answer.partition(b"\r\n\r\n")[2] == BIG_BODY
            health = await client.answer()
            assert health.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in health
    assert rests and rests[0] > 0  # the big answer went partly through the locked path


def test_hypercorn_still_builds_connections_as_the_lean_servers_expect() -> None:
    """Fails when a new Hypercorn changes what api/keepalive.py relies on: then
    lean_keepalive leaves Hypercorn as it is, and the benefit is gone silently."""
    for base, lean, module in ((AsyncioTCPServer, LeanTCPServer, hypercorn.asyncio.run),
                               (TrioTCPServer, LeanTrioTCPServer, hypercorn.trio.run)):
        assert supported(base)
        assert lean.__bases__[-1] is base and module.TCPServer is base
        # The per-request idle task the lean server removes: restarted on idle, stopped
        # on busy, from the connection's protocol_send; first started by run.
        send = inspect.getsource(base.protocol_send)
        assert "Updated" in send and "idle_task.restart" in send and "idle_task.stop" in send
        run = inspect.getsource(base.run)
        assert "idle_task.restart(" in run and "self._idle_timeout)" in run
        assert "keep_alive_timeout" in inspect.getsource(base._idle_timeout)
        if base is TrioTCPServer:  # the write the lean trio server makes without it
            assert "send_lock" in send and "send_all" in send and "shield" in send
            # the read loop it copies, without the scope for no read timeout
            read = inspect.getsource(base._read_data)
            assert "fail_after(self.config.read_timeout or inf)" in read
            assert "receive_some(MAX_RECV)" in read and "RawData(bytes(data))" in read
        with lean_keepalive():
            assert module.TCPServer is lean
        assert module.TCPServer is base
