"""``WS /api/v1/graph/ws/{run_id}?since=N&mode=debug,tokens``: a run's live log (see
:mod:`api.live_log` for the messages of each mode; the default mode is ``debug``).

Close codes: 1000 the run ended (after ``complete``); 1012 the server is restarting
(after ``released``: reconnect with ``?since``); 1013 the client fell behind (after
an ``error`` with ``code: "lagged"`` and ``resume_from``); 4400 bad query string
(``since`` must be an integer from 0 to ``MAX_COUNT``, 2147483647; the reason says
what is wrong); 4404 no such run; 1011 server error.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
from pydantic import ValidationError
from quart import Blueprint, g, websocket

from runtime import Event, RunNotFoundError
from runtime.definition import MAX_COUNT

from ..auth import audit, visible_run
from ..current import metrics, service
from ..live_log import Dropped, Feed, FeedEnd, parse_modes
from ..schemas import WsQuery

__all__ = ["ws"]

log = logging.getLogger("actorflow.api")

#: Bound on sending the goodbye message and close frame to a client that is not reading.
GOODBYE_TIMEOUT = 1.0

ws = Blueprint("ws", __name__)


@ws.websocket("/api/v1/graph/ws/<run_id>")
async def run_feed(run_id: str) -> None:
    """Stream a run's events: replay from ``since`` (default 0), then live, then complete."""
    svc = service()
    await websocket.accept()
    try:
        query = WsQuery.model_validate(dict(websocket.args))
    except ValidationError:
        # A close reason holds at most 123 bytes: the rule, not the (maybe huge) value.
        await websocket.close(4400, f"since must be an integer from 0 to {MAX_COUNT}")
        return
    try:
        modes = parse_modes(query.mode)
    except ValueError as exc:
        await websocket.close(4400, str(exc)[:120])
        return
    if svc.runtime is None:
        await websocket.close(1013, "the server is not ready")
        return
    try:
        await visible_run(run_id)  # another tenant's run: the same 4404 as an unknown one
        await svc.runtime.view(run_id)
    except RunNotFoundError:
        if g.get("audit_denied"):
            audit.record(action="WS /api/v1/graph/ws/<run_id>", status=404, outcome="denied",
                         resource=f"run:{run_id}", detail=g.audit_denied,
                         ip=websocket.remote_addr)
        await websocket.close(4404, f"no run with id {run_id}")
        return
    run = svc.live(run_id)
    gauge = metrics().ws_clients
    gauge.inc()
    try:
        await _serve(run_id, run, query.since, modes)
    finally:
        gauge.dec()


async def _serve(run_id: str, run: Any, since: int, modes: frozenset[str]) -> None:
    svc = service()
    assert svc.runtime is not None
    timeout = svc.settings.ws_send_timeout
    lag = metrics().ws_lag

    async def send(message: dict[str, Any]) -> None:
        text = _bounded(json.dumps(message, default=str), message, svc.settings.ws_max_event_bytes)
        with anyio.move_on_after(timeout) as scope:
            await websocket.send(text)
        if scope.cancelled_caught:
            raise Dropped(feed.next_seq, f"a send blocked for more than {timeout}s")

    def sent(event: Event) -> None:
        lag.observe(max(0.0, time.time() - event.ts))

    def released_here() -> bool:
        # This process lets the run go now: it drains and executes the run (which, in
        # a cluster, it may have claimed after this client connected).
        return svc.draining and svc.live(run_id) is not None

    feed = Feed(run_id, send, follow=svc.runtime.events, store=svc.runtime.store, run=run,
                buffer=svc.settings.ws_buffer, draining=released_here, on_sent=sent,
                modes=modes)
    async with anyio.create_task_group() as tg:
        # Read (and ignore) what the client sends, so its messages never pile up.
        tg.start_soon(_discard_incoming)
        try:
            await feed.stream(since)
            await _goodbye(None, 1000, "run finished")
        except Dropped as exc:
            await _goodbye({"type": "error", "code": "lagged", "resume_from": exc.resume_from,
                            "message": f"this client fell behind and was dropped ({exc.reason});"
                            f" reconnect with ?since={exc.resume_from}"}, 1013, "lagged")
        except FeedEnd:
            await _goodbye(None, 1012, "server restarting")
        except Exception:
            log.exception("WebSocket feed of run %s failed", run_id)
            await _goodbye({"type": "error", "code": "internal_error",
                            "message": "the server failed to stream this run; see its log"},
                           1011, "server error")
        finally:
            tg.cancel_scope.cancel()


def _bounded(text: str, message: dict[str, Any], limit: int) -> str:
    """The message, or a stub in its place when it is larger than ``limit`` bytes: one
    huge state must not be queued to every client watching the run."""
    size = len(text.encode())
    if size <= limit:
        return text
    stub: dict[str, Any] = {k: message[k] for k in ("type", "seq", "event", "node", "status",
                                                    "run_id") if k in message}
    stub.update(truncated=True, bytes=size, message=(
        f"this message is {size} bytes, above the limit ws_max_event_bytes={limit}; read "
        "the run's state over HTTP (GET /api/v1/runs/{run_id})"))
    return json.dumps(stub)


async def _discard_incoming() -> None:
    while True:
        await websocket.receive()


async def _goodbye(message: dict[str, Any] | None, code: int, reason: str) -> None:
    """Last message and close frame, bounded: the client may not be reading at all."""
    with anyio.move_on_after(GOODBYE_TIMEOUT):
        if message is not None:
            await websocket.send(json.dumps(message))
        await websocket.close(code, reason)
