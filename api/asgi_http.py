"""Quart's HTTP request handling on asyncio, its response send bounded without a task.

Quart bounds the sending of each response by ``RESPONSE_TIMEOUT`` (or the
response's own ``timeout``) with ``asyncio.wait_for``, which on Python 3.11 runs the
send in a new task, with a waiter future and a timer, and costs the request one more
pass of the event loop. :class:`LeanASGIHTTPConnection` bounds it with
``asyncio.timeout`` (what ``wait_for`` itself became in Python 3.12): the same
deadline, the same ``TimeoutError`` swallowed, no task. Everything else is Quart's.

Installed by :func:`lean_http_class` on the asyncio app (``Quart.asgi_http_class``,
a documented attribute) only when Quart still has the parts it relies on;
tests/api/test_asgi_http.py fails if a new version changes them. QuartTrio's
connection (a trio cancel scope already) is left as it is.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from quart import Quart, Response
from quart import asgi as quart_asgi
from quart.asgi import ASGIHTTPConnection

__all__ = ["LeanASGIHTTPConnection", "lean_http_class", "supported"]


class LeanASGIHTTPConnection(ASGIHTTPConnection):
    """Quart's ASGI HTTP connection; the response's send is bounded in its own task."""

    async def handle_request(self, request: Any, send: Any) -> None:
        # Quart's handle_request (quart/asgi.py), with asyncio.timeout for wait_for.
        try:
            response = await self.app.handle_request(request)
        except Exception as error:  # noqa: BLE001 - Quart answers it (500 or its handler)
            response = await quart_asgi._handle_exception(self.app, error)
        if isinstance(response, Response) and response.timeout != Ellipsis:
            timeout = cast(float | None, response.timeout)
        else:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        try:
            async with asyncio.timeout(timeout):
                await self._send_response(send, response)
        except TimeoutError:
            pass


def supported() -> bool:
    """Whether Quart still handles a request as the lean connection expects."""
    return (callable(getattr(quart_asgi, "_handle_exception", None))
            and callable(getattr(ASGIHTTPConnection, "_send_response", None))
            and callable(getattr(ASGIHTTPConnection, "handle_request", None)))


def lean_http_class(app: Quart) -> None:
    """Serve ``app``'s HTTP requests with the lean connection (asyncio Quart only)."""
    if app.asgi_http_class is ASGIHTTPConnection and supported():
        app.asgi_http_class = LeanASGIHTTPConnection
