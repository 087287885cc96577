"""The direct live-log write (api/ws_direct.py) is the one a real server takes: the app
served by Hypercorn as ``actorflow serve`` serves it (coalesced responses, lean
keep-alive servers), a real WebSocket client on loopback. A Hypercorn version that moved
the parts the direct writers rely on would make them step aside silently (correct,
slower); this fails instead. (The unit tests of the writers are test_ws_direct.py and
test_ws_direct_asyncio.py; every reader of many getting every message in order through
``actorflow serve`` is test_ws_fanout.py.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
from _api_support import make_settings
from _in_process import hypercorn_serving
from httpx_ws import aconnect_ws
from quart import Quart

from api.app import create_app
from api.auth import declare
from api.auth.policy import PUBLIC
from api.keepalive import lean_keepalive
from api.wire import coalesced_responses
from api.ws_wire import Wire, text_frame
from runtime.store.memory import MemoryStore

FRAMES = 20


def _app(backend: str) -> Quart:
    # (Imported here: pytest inspects a module's names, and this proxy fails outside a
    # websocket.)
    from quart import websocket

    app = create_app(make_settings(backend), store=MemoryStore())

    @app.websocket("/test/direct")
    async def direct() -> None:
        await websocket.accept()
        wire = Wire.of(websocket)
        assert wire is not None
        at_once = 0
        for i in range(FRAMES):
            text = json.dumps({"i": i})
            rest = wire.write_now([(text, text_frame(text.encode()))])
            if rest is None:
                at_once += 1
            else:
                await rest
        writer = getattr(wire, "_direct", None)
        await websocket.send(json.dumps({"writer": type(writer).__name__,
                                         "at_once": at_once}))

    declare(app, "direct", PUBLIC)
    return app


async def test_a_served_live_log_connection_is_written_directly(anyio_backend: str) -> None:
    with coalesced_responses(), lean_keepalive():
        async with hypercorn_serving(_app(anyio_backend), anyio_backend) as (port, _):
            got: list[Any] = []
            async with httpx.AsyncClient() as http, aconnect_ws(
                    f"ws://127.0.0.1:{port}/test/direct", http,
                    keepalive_ping_interval_seconds=None) as ws:
                for _ in range(FRAMES + 1):
                    got.append(json.loads(await ws.receive_text(timeout=10)))
    assert got[:FRAMES] == [{"i": i} for i in range(FRAMES)]
    expected = "AsyncioDirectWrite" if anyio_backend == "asyncio" else "DirectWrite"
    assert got[FRAMES]["writer"] == expected
    # A client reading as fast as loopback delivers: the transport or socket takes each
    # small frame at once (none waits behind another), so none goes Hypercorn's way.
    assert got[FRAMES]["at_once"] == FRAMES
