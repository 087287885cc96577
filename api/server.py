"""Serving the app with Hypercorn, programmatically, on asyncio or trio.

On SIGTERM or SIGINT the server drains: new runs get 503, running runs are
released (checkpointed, left ``pending``; they resume when a server opens the
same database again), their WebSocket feeds end with ``released``, and Hypercorn
then finishes the open requests within ``graceful_timeout`` and stops.
"""

from __future__ import annotations

import gc
import logging
import signal

import anyio
from hypercorn.config import Config
from quart import Quart

from .app import create_app
from .current import SERVICE_KEY
from .service import ApiService
from .settings import Settings
from .single_host import executor_lock
from .keepalive import lean_keepalive
from .telemetry import traced
from .wire import coalesced_responses

__all__ = ["hypercorn_config", "serve"]

log = logging.getLogger("actorflow.api")


def hypercorn_config(settings: Settings) -> Config:
    """Hypercorn's config for ``settings``."""
    config = Config()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{settings.port}"]
    config.graceful_timeout = settings.graceful_timeout
    config.accesslog = logging.getLogger("hypercorn.access") if settings.access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.loglevel = settings.log_level.upper()
    if settings.certfile and settings.keyfile:
        config.certfile = settings.certfile
        config.keyfile = settings.keyfile
    return config


def serve(settings: Settings, app: Quart | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then drain and stop. Blocks.

    Raises SettingsError for an unsafe configuration (see :mod:`api.exposure`).
    """
    from .exposure import check_exposure

    check_exposure(settings)
    app = app or create_app(settings)
    with (executor_lock(settings.database_url,
                        clustered=settings.cluster_settings() is not None),
          traced(settings.otlp_endpoint)):
        freeze_startup_objects()
        rarer_collections(settings.gc_threshold)
        anyio.run(_serve, app, settings, backend=settings.backend)


def freeze_startup_objects() -> None:
    """Move every object alive at start (modules, classes, the app) out of the garbage
    collector's reach: they live as long as the process, and each full collection would
    walk them again (tens of thousands of objects; under 1,000 concurrent runs full
    collections took about a sixth of the CPU time). Done here, in the server's own
    entry point only: an application embedding the runtime keeps its collector as it
    set it."""
    gc.collect()
    gc.freeze()


def rarer_collections(threshold0: int) -> None:
    """Start a young collection every ``threshold0`` container allocations net, not
    700 (0 leaves Python's setting). A server holds its kept finished runs
    (``keep_finished_runs``, ~80 tracked objects each) and the runs in flight; at 700,
    survivors of young collections reach the oldest generation within a few requests,
    and each full collection then walks all of them: under the HTTP benchmark's 50
    clients a tenth or more of the server's CPU. The runtime's objects are freed by
    reference counting; cyclic garbage is still collected, later. As for
    :func:`freeze_startup_objects`: in the server's own entry point only."""
    if threshold0 > 0:
        _, threshold1, threshold2 = gc.get_threshold()
        gc.set_threshold(threshold0, threshold1, threshold2)


async def _serve(app: Quart, settings: Settings) -> None:
    service: ApiService = app.extensions[SERVICE_KEY]

    async def shutdown_trigger() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("received %s: draining (no new runs; running runs are released "
                         "and resume on the next start)", signal.Signals(signum).name)
                break
        await service.drain()

    config = hypercorn_config(settings)
    log.info("actorflow serving on %s://%s:%s (backend %s, database %s, auth %s)",
             "https" if settings.certfile else "http", settings.host, settings.port,
             settings.backend, _redact(settings.database_url), settings.auth)
    # One write per response (api/wire.py); one keep-alive timer task per connection,
    # not per request (api/keepalive.py).
    with coalesced_responses(), lean_keepalive():
        if settings.backend == "trio":
            from hypercorn.trio import serve as trio_serve

            await trio_serve(app, config, shutdown_trigger=shutdown_trigger)
        else:
            from hypercorn.asyncio import serve as asyncio_serve

            await asyncio_serve(app, config, shutdown_trigger=shutdown_trigger)
    log.info("actorflow stopped")


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
