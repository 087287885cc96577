"""Serving the app with Hypercorn, programmatically, on asyncio or trio.

On SIGTERM or SIGINT the server drains: new runs get 503, running runs are
released (checkpointed, left ``pending``; they resume when a server opens the
same database again), their WebSocket feeds end with ``released``, and Hypercorn
then finishes the open requests within ``graceful_timeout`` and stops.

The listening socket is bound before the app's lifespan starts (the runtime opens
in it): a port another process holds stops the server with one
:class:`~api.settings.AddressUnavailableError`, with nothing opened yet. (Hypercorn's
own ``serve`` binds after the lifespan started, and on a bind failure leaves the
lifespan task, the runtime's task groups suspended in it, to be finalized by another
task.)
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import signal
import socket

import anyio
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app
from quart import Quart

from .app import create_app
from .current import SERVICE_KEY
from .service import ApiService
from .settings import AddressUnavailableError, Settings, TlsSettingsError
from .single_host import executor_lock
from .keepalive import lean_keepalive
from .telemetry import traced
from .wire import coalesced_responses

__all__ = ["check_tls", "hypercorn_config", "listening_socket", "serve"]

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


def listening_socket(settings: Settings, backlog: int = Config.backlog) -> socket.socket:
    """A socket bound to ``settings.host``:``settings.port`` and listening, set up as
    Hypercorn sets up its own (``Config.create_sockets``).

    Raises AddressUnavailableError, saying what to do, when the address cannot be
    used (the socket is closed then)."""
    host = settings.host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, settings.port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise AddressUnavailableError(_cannot_listen(settings, exc)) from exc
    return sock


def check_tls(config: Config, settings: Settings) -> None:
    """Load the TLS certificate and key as Hypercorn will (``create_ssl_context``).

    Raises TlsSettingsError, naming the files and what to give, when they cannot be
    used (missing, unreadable, not PEM, a key that is not the certificate's)."""
    try:
        config.create_ssl_context()
    except (OSError, ValueError) as exc:   # ssl.SSLError is an OSError
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise TlsSettingsError(
            f"cannot use the TLS certificate {settings.certfile} with the key "
            f"{settings.keyfile}: {reason}; give a PEM certificate and its own private "
            "key (--certfile and --keyfile, or ACTORFLOW_CERTFILE and ACTORFLOW_KEYFILE)"
        ) from exc


def _cannot_listen(settings: Settings, exc: OSError) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    where = f"cannot listen on {host}:{settings.port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"{where}: address already in use; stop the other process or choose "
                "another port (--port or ACTORFLOW_PORT)")
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    return (f"{where}: {reason}; choose another address (--host and --port, or "
            "ACTORFLOW_HOST and ACTORFLOW_PORT)")


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
    # The certificate read, and the socket bound, before Hypercorn starts the app's
    # lifespan, in which the runtime opens: a failure here has nothing to close.
    check_tls(config, settings)
    sock = listening_socket(settings, config.backlog)
    with contextlib.closing(sock):
        sockets = (Sockets([sock], [], []) if config.ssl_enabled
                   else Sockets([], [sock], []))
        log.info("actorflow serving on %s://%s:%s (backend %s, database %s, auth %s)",
                 "https" if settings.certfile else "http", settings.host,
                 sock.getsockname()[1], settings.backend, _redact(settings.database_url),
                 settings.auth)
        served = wrap_app(app, config.wsgi_max_body_size, "asgi")
        # One write per response (api/wire.py); one keep-alive timer task per
        # connection, not per request (api/keepalive.py).
        with coalesced_responses(), lean_keepalive():
            # hypercorn.{trio,asyncio}.serve without their bind: each worker_serve
            # serves the sockets it is given.
            if settings.backend == "trio":
                from hypercorn.trio.run import worker_serve as trio_serve

                await trio_serve(served, config, sockets=sockets,
                                 shutdown_trigger=shutdown_trigger)
            else:
                from hypercorn.asyncio.run import worker_serve as asyncio_serve

                await asyncio_serve(served, config, sockets=sockets,
                                    shutdown_trigger=shutdown_trigger)
    log.info("actorflow stopped")


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
