"""Live-log writes straight to the socket under trio (api/ws_direct.py), on a real
socket pair: what the socket takes at once is written without a scheduler turn, the
rest follows under Hypercorn's send lock before anything else, and nothing is written
while Hypercorn writes itself. Trio only: the direct path exists for trio's worker.
(The end-to-end proof, every reader of many getting every message in order through a
real server on trio, is tests/api/test_ws_fanout.py.)"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from api.ws_direct import DirectWrite

pytestmark = pytest.mark.backends("trio")


async def _pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    a, b = trio.socket.socketpair()
    return trio.SocketStream(a), trio.SocketStream(b)


async def _never_broken() -> None:
    raise AssertionError("the connection broke")


async def test_a_write_the_socket_takes_at_once_does_not_yield(anyio_backend: str) -> None:
    ours, peer = await _pair()
    lock = trio.Lock()
    direct = DirectWrite(lock, ours, on_broken=_never_broken)
    with trio.testing.assert_no_checkpoints():
        assert direct.write_now(b"frame one") == len(b"frame one")
    assert not lock.locked()
    assert await peer.receive_some(1024) == b"frame one"


async def test_what_the_socket_does_not_take_follows_under_the_lock_in_order(
        anyio_backend: str) -> None:
    ours, peer = await _pair()
    lock = trio.Lock()
    direct = DirectWrite(lock, ours, on_broken=_never_broken)
    data = bytes(range(256)) * (16 * 1024)   # 4 MiB: more than a socket buffer holds
    got = bytearray()

    async def other_writer() -> None:
        # Hypercorn's own send waits for the lock: it comes after the whole write.
        async with lock:
            await ours.send_all(b"hypercorn's")

    async def write() -> None:
        sent = direct.write_now(data)
        assert sent is not None and 0 <= sent < len(data)
        assert lock.locked()   # held for the rest
        await direct.write_rest(data, sent)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(other_writer)
        while len(got) < len(data) + len(b"hypercorn's"):
            got += await peer.receive_some(65536)
    assert bytes(got) == data + b"hypercorn's"
    assert not lock.locked()


async def test_nothing_is_written_while_hypercorn_writes(anyio_backend: str) -> None:
    ours, peer = await _pair()
    lock = trio.Lock()
    direct = DirectWrite(lock, ours, on_broken=_never_broken)
    async with lock:
        assert direct.write_now(b"frame") is None   # the caller sends it Hypercorn's way
        await ours.send_all(b"hypercorn's")
    assert await peer.receive_some(1024) == b"hypercorn's"   # and nothing before it


async def test_a_broken_connection_in_the_rest_is_handed_to_hypercorn(
        anyio_backend: str) -> None:
    ours, peer = await _pair()
    lock = trio.Lock()
    broken: list[bool] = []

    async def on_broken() -> None:
        broken.append(True)

    direct = DirectWrite(lock, ours, on_broken=on_broken)
    data = b"x" * (8 * 1024 * 1024)

    async def write() -> None:
        sent = direct.write_now(data)
        assert sent is not None and sent < len(data)
        await direct.write_rest(data, sent)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        await trio.testing.wait_all_tasks_blocked()
        await peer.aclose()   # the client goes away mid-write
    assert broken == [True] and not lock.locked()
