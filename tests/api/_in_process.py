"""A real Hypercorn serving an app in the test's own process, on a loopback port (for
tests of how ``actorflow serve`` adapts Hypercorn: api/wire.py, api/keepalive.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from _server import free_port
from hypercorn.config import Config
from quart import Quart


@asynccontextmanager
async def hypercorn_serving(app: Quart, backend: str,
                            **config: Any) -> AsyncIterator[tuple[int, anyio.Event]]:
    """Serve ``app`` with Hypercorn's ``backend`` server and ``config`` (Config
    attributes); yields (port, stop) once a connection is accepted. Setting ``stop``
    shuts the server down as its shutdown trigger would."""
    port = free_port()
    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.accesslog = None
    for name, value in config.items():
        setattr(cfg, name, value)
    stop = anyio.Event()
    if backend == "trio":
        from hypercorn.trio import serve
    else:
        from hypercorn.asyncio import serve  # type: ignore[assignment]
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: serve(app, cfg,  # type: ignore[arg-type]
                                    shutdown_trigger=stop.wait))
        with anyio.fail_after(30):
            while True:
                try:
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    await anyio.sleep(0.05)
        try:
            yield port, stop
        finally:
            stop.set()
