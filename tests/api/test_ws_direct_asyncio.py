"""Live-log writes straight to the transport under asyncio (api/ws_direct.py), on a real
socket pair: a write goes to the transport at once when nothing of the connection waits
in its buffer and Hypercorn is not writing; otherwise nothing is written and the caller
goes Hypercorn's way (which drains first). Asyncio only: the direct path of trio's
worker is tests/api/test_ws_direct.py; the end-to-end proof, every reader of many
getting every message in order through a real server, is tests/api/test_ws_fanout.py."""

from __future__ import annotations

import asyncio
import socket

import pytest

from api.ws_direct import AsyncioDirectWrite

pytestmark = pytest.mark.backends("asyncio")


async def _pair() -> tuple[asyncio.StreamWriter, socket.socket]:
    ours, peer = socket.socketpair()
    _, writer = await asyncio.open_connection(sock=ours)
    peer.setblocking(False)
    return writer, peer


async def _received(peer: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    got = b""
    while len(got) < size:
        got += await loop.sock_recv(peer, 65536)
    return got


async def test_a_write_goes_to_the_transport_at_once(anyio_backend: str) -> None:
    writer, peer = await _pair()
    direct = AsyncioDirectWrite(asyncio.Lock(), writer)
    assert direct.write_now(b"frame one") == len(b"frame one")
    assert direct.write_now(b", two") == len(b", two")
    assert await _received(peer, 14) == b"frame one, two"
    writer.close()
    peer.close()


async def test_nothing_is_written_while_hypercorn_writes(anyio_backend: str) -> None:
    writer, peer = await _pair()
    lock = asyncio.Lock()
    direct = AsyncioDirectWrite(lock, writer)
    async with lock:
        assert direct.write_now(b"frame") is None   # the caller sends it Hypercorn's way
        writer.write(b"hypercorn's")
    assert await _received(peer, 11) == b"hypercorn's"   # and nothing before it
    writer.close()
    peer.close()


async def test_a_connection_with_data_waiting_goes_hypercorns_way(anyio_backend: str
                                                                  ) -> None:
    writer, peer = await _pair()
    direct = AsyncioDirectWrite(asyncio.Lock(), writer)
    big = b"x" * (8 * 1024 * 1024)   # more than the socket takes: the rest is buffered
    assert direct.write_now(big) == len(big)
    assert writer.transport.get_write_buffer_size() > 0
    # The client has not read it yet: the next write must wait for the drain.
    assert direct.write_now(b"frame") is None
    assert await _received(peer, len(big)) == big
    await writer.drain()
    assert writer.transport.get_write_buffer_size() == 0
    assert direct.write_now(b"frame") == 5   # caught up: direct again
    assert await _received(peer, 5) == b"frame"
    writer.close()
    peer.close()


async def test_a_closing_connection_is_not_written(anyio_backend: str) -> None:
    writer, peer = await _pair()
    direct = AsyncioDirectWrite(asyncio.Lock(), writer)
    writer.close()
    assert direct.write_now(b"frame") is None
    peer.close()
