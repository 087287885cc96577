"""Quart's response send bounded without a task on asyncio (api/asgi_http.py): the
same ``RESPONSE_TIMEOUT`` bound, the send in the request's own task."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import anyio
import pytest
from _api_support import make_settings
from quart import Response
from quart.asgi import ASGIHTTPConnection

from api.app import create_app
from api.asgi_http import LeanASGIHTTPConnection, supported
from api.auth import declare
from api.auth.policy import PUBLIC
from runtime.store.memory import MemoryStore


def _app(backend: str, tasks: list[object]):  # type: ignore[no-untyped-def]
    app = create_app(make_settings(backend), store=MemoryStore())

    @app.get("/test/parts")
    async def parts() -> Response:
        tasks.append(asyncio.current_task())

        async def body() -> AsyncIterator[bytes]:
            tasks.append(asyncio.current_task())
            yield b"one,"
            yield b"two"

        return Response(body(), mimetype="text/plain")

    @app.get("/test/hang")
    async def hang() -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"start,"
            await anyio.sleep(3600)
            yield b"never"

        response = Response(body(), mimetype="text/plain")
        response.timeout = 0.2
        return response

    declare(app, "parts", PUBLIC)
    declare(app, "hang", PUBLIC)
    return app


@pytest.mark.backends("asyncio")
async def test_a_response_is_sent_in_the_requests_own_task(anyio_backend: str) -> None:
    tasks: list[object] = []
    app = _app(anyio_backend, tasks)
    assert app.asgi_http_class is LeanASGIHTTPConnection
    response = await app.test_client().get("/test/parts")
    assert await response.get_data() == b"one,two"
    handler, sender = tasks
    assert sender is handler  # Quart's own wait_for sends it from a task of its own


@pytest.mark.backends("asyncio")
async def test_a_response_send_is_still_bounded_by_its_timeout(anyio_backend: str) -> None:
    app = _app(anyio_backend, [])
    with anyio.fail_after(60):  # the body would take an hour: the 0.2 s bound cuts it
        response = await app.test_client().get("/test/hang")
    assert await response.get_data() == b"start,"


def test_quart_trio_keeps_its_own_connection() -> None:
    app = create_app(make_settings("trio"), store=MemoryStore())
    assert app.asgi_http_class is not LeanASGIHTTPConnection


def test_quart_still_handles_a_request_as_the_lean_connection_expects() -> None:
    """Fails when a new Quart changes what api/asgi_http.py copies: then the app keeps
    Quart's connection, and the benefit is gone silently."""
    assert supported()
    source = inspect.getsource(ASGIHTTPConnection.handle_request)
    assert "asyncio.wait_for(self._send_response(send, response), timeout=timeout)" in source
    assert "_handle_exception(self.app, error)" in source
    assert 'self.app.config["RESPONSE_TIMEOUT"]' in source
