"""``WS /api/v1/graph/ws/{run_id}?since=N&mode=debug,tokens&batch=true``: a run's live log
(see :mod:`api.live_log` for the messages of each mode; the default mode is ``debug``).

``batch=true`` (opt-in) sends ``{"type": "batch", "messages": [...]}`` frames holding
every message waiting for the client, in order (see :mod:`api.ws_outbox`); without it,
one message per frame, as always.

Close codes: 1000 the run ended (after ``complete``); 1012 the server is restarting
(after ``released``: reconnect with ``?since``); 1013 the client fell behind (after
an ``error`` with ``code: "lagged"`` and ``resume_from``); 4401 the API key the feed was
opened with was revoked (after an ``error`` with ``code: "revoked"``); 4400 bad query string
(``since`` must be an integer from 0 to ``MAX_COUNT``, 2147483647; the reason says
what is wrong); 4404 no such run; 1011 server error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from pydantic import ValidationError
from quart import Blueprint, g, websocket

from runtime import Event, Run, RunNotFoundError
from runtime.definition import MAX_COUNT

from ..auth import audit, check_run
from ..auth import state as auth_state
from ..current import metrics, service
from ..live_log import DEFAULT_MODES, Dropped, Feed, FeedEnd, parse_modes
from ..schemas import WsQuery
from ..ws_broadcast import Broadcasts
from ..ws_outbox import Outbox, SharedText, batch_frame
from ..ws_wire import Wire

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
    except ValidationError as exc:
        # A close reason holds at most 123 bytes: the rule, not the (maybe huge) value.
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        await websocket.close(4400, "batch must be true or false" if bad == {"batch"}
                              else f"since must be an integer from 0 to {MAX_COUNT}")
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
        await check_run(run_id)  # another tenant's run: the same 4404 as an unknown one
        view = await svc.runtime.view(run_id)
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
    who = g.get("principal")
    key_id = who.key_id if who is not None else None
    try:
        if key_id is None:
            await _serve(run_id, run, query.since, modes, query.batch,
                         shared=not view.status.finished)
        else:
            await _serve_while_in_force(key_id, run_id, run, query.since, modes,
                                        query.batch, shared=not view.status.finished)
    finally:
        gauge.dec()


async def _serve_while_in_force(key_id: str, run_id: str, run: Any, since: int,
                                modes: frozenset[str], batch: bool, *, shared: bool) -> None:
    """:func:`_serve`, ended when the API key the feed was opened with is revoked."""
    auth = auth_state()
    revoked = False
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            nonlocal revoked
            await auth.revocations.watch(key_id, auth.gate.keys().in_force)
            revoked = True
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        await _serve(run_id, run, since, modes, batch, shared=shared)
        tg.cancel_scope.cancel()
    if revoked:
        await _goodbye({"type": "error", "code": "revoked",
                        "message": "the API key this feed was opened with has been revoked"},
                       4401, "credential revoked", batch)


async def _serve(run_id: str, run: Any, since: int, modes: frozenset[str], batch: bool, *,
                 shared: bool) -> None:
    svc = service()
    casts = svc.broadcasts
    # A finished run has nothing live to share: each client reads its log alone.
    if casts is not None and shared and modes == DEFAULT_MODES:
        ending = await _shared(casts, run_id, run, since, batch)
    else:
        ending = await _own_feed(run_id, run, since, modes, batch)
    if ending is None:
        await _goodbye(None, 1000, "run finished", batch)
    elif isinstance(ending, Dropped):
        await _goodbye({"type": "error", "code": "lagged", "resume_from": ending.resume_from,
                        "message": f"this client fell behind and was dropped ({ending.reason});"
                        f" reconnect with ?since={ending.resume_from}"}, 1013, "lagged", batch)
    elif isinstance(ending, FeedEnd):
        await _goodbye(None, 1012, "server restarting", batch)
    else:
        await _goodbye({"type": "error", "code": "internal_error",
                        "message": "the server failed to stream this run; see its log"},
                       1011, "server error", batch)


def _sent(event: Event) -> None:
    metrics().ws_lag.observe(max(0.0, time.time() - event.ts))


def _counter() -> Callable[[int], None]:
    frames, writes = metrics().ws_frames, metrics().ws_writes

    def counted(n: int) -> None:
        frames.inc(n)
        writes.inc()
    return counted


def _released_here(run_id: str) -> Callable[[], bool]:
    svc = service()
    # This process lets the run go now: it drains and executes the run (which, in a
    # cluster, it may have claimed after this client connected).
    return lambda: svc.draining and svc.live(run_id) is not None


async def _shared(casts: Broadcasts, run_id: str, run: Run | None, since: int, batch: bool
                  ) -> Exception | None:
    """Follow a run through its broadcast (one for every client of this process)."""
    svc = service()
    assert svc.runtime is not None
    cast = await casts.attach(svc.runtime, run_id, run, draining=_released_here(run_id),
                              on_sent=_sent)
    ending: Exception | None = None
    try:
        seq = since
        while (index := cast.join_at(seq)) is None:
            # Older than what the broadcast holds: caught up by a feed of its own first.
            until = cast.reaches()
            ending = await _own_feed(run_id, run, seq, DEFAULT_MODES, batch, until)
            if ending is not None:
                return None if isinstance(ending, _Completed) else ending
            seq = until
        async with anyio.create_task_group() as tg:
            # Read (and ignore) what the client sends, so its messages never pile up.
            tg.start_soon(_discard_incoming)
            try:
                await cast.serve(index, websocket.send, resume=seq, batch=batch,
                                 timeout=svc.settings.ws_send_timeout,
                                 wire=Wire.of(websocket, _counter()))
            except (Dropped, FeedEnd) as exc:
                ending = exc
            except Exception as exc:
                log.exception("WebSocket feed of run %s failed", run_id)
                ending = exc
            finally:
                tg.cancel_scope.cancel()
    finally:
        casts.detach(cast)
    return ending


async def _own_feed(run_id: str, run: Any, since: int, modes: frozenset[str], batch: bool,
                    until: int | None = None) -> Exception | None:
    """Follow the run with a feed of this client's own (up to ``until``); what ended it
    (None: the run's log ended, or ``until`` was reached)."""
    svc = service()
    assert svc.runtime is not None
    texts = svc.broadcasts.texts if svc.broadcasts is not None else _texts(
        svc.settings.ws_max_event_bytes)
    outbox = Outbox(limit=svc.settings.ws_buffer, batch=batch,
                    send_timeout=svc.settings.ws_send_timeout)
    outbox.unsent = since

    async def send(message: dict[str, Any]) -> None:
        seq = message.get("seq")
        await outbox.put(seq if isinstance(seq, int) else None, texts.text(run_id, message))

    feed = Feed(run_id, send, follow=svc.runtime.events, store=svc.runtime.store, run=run,
                buffer=svc.settings.ws_buffer, draining=_released_here(run_id), on_sent=_sent,
                modes=modes)
    ending: Exception | None = None

    async def produce() -> None:
        # The feed never waits for this client's socket: it queues, the sender sends.
        nonlocal ending
        try:
            await feed.stream(since, until)
        except Dropped as exc:
            # What was queued but not sent is sent again after the client reconnects.
            ending = Dropped(outbox.abandon(exc.resume_from), exc.reason)
        except FeedEnd as exc:
            ending = exc
        except Exception as exc:
            log.exception("WebSocket feed of run %s failed", run_id)
            ending = exc
        else:
            if until is not None and feed.completed:
                ending = _Completed()   # the run ended before ``until``: nothing follows
        outbox.close()

    async with anyio.create_task_group() as tg:
        # Read (and ignore) what the client sends, so its messages never pile up.
        tg.start_soon(_discard_incoming)
        tg.start_soon(produce)
        try:
            await outbox.drain(websocket.send)
        except Dropped as exc:
            ending = exc
        finally:
            tg.cancel_scope.cancel()
    return ending


class _Completed(Exception):
    """A catch-up feed reached the run's end (its ``complete`` is sent)."""


_shared_texts: dict[int, SharedText] = {}


def _texts(limit: int) -> SharedText:
    """An encoder for an app not serving (tests that drive routes without a lifespan)."""
    found = _shared_texts.get(limit)
    if found is None:
        found = _shared_texts[limit] = SharedText(limit)
    return found


async def _discard_incoming() -> None:
    while True:
        await websocket.receive()


async def _goodbye(message: dict[str, Any] | None, code: int, reason: str,
                   batch: bool) -> None:
    """Last message and close frame, bounded: the client may not be reading at all."""
    with anyio.move_on_after(GOODBYE_TIMEOUT):
        if message is not None:
            text = json.dumps(message)
            await websocket.send(batch_frame([text]) if batch else text)
        await websocket.close(code, reason)
