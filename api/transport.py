"""Transport hygiene: request ids, ``Host`` and WebSocket ``Origin`` checks, CORS and
security headers.

``Host`` is checked against the configured names (by default, on loopback, the loopback
names), so a page on another site cannot reach a loopback server by DNS rebinding; a
WebSocket whose ``Origin`` is neither an allowed host nor a CORS origin is refused, as
browsers do not apply CORS to WebSockets. Every request gets an id (the client's
``X-Request-ID`` when well-formed), echoed in the response, in error bodies and in
log lines (see :func:`request_id_logging`).
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import random
import re
from typing import Any
from urllib.parse import urlsplit

from quart import (
    Quart,
    Response,
    g,
    has_request_context,
    has_websocket_context,
    request,
    websocket,
)

from .errors import ApiError
from .headers import add_missing, header
from .settings import Settings

__all__ = ["LOOPBACK_NAMES", "assign_request_id", "current_request_id", "install_transport",
           "is_loopback",
           "request_id_logging"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "actorflow_request_id", default=None)

#: Headers on every response. CSP ``default-src 'none'`` only on JSON (the docs page
#: runs its own script); framing is refused everywhere.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
JSON_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")


def new_request_id() -> str:
    """32 random hex digits, as ``uuid4().hex`` gave, without its system call per
    request: an id tells requests apart in logs and audit entries, it guards nothing
    (a client may send its own). ``random`` is reseeded in a forked child."""
    return f"{random.getrandbits(128):032x}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    if has_request_context() or has_websocket_context():
        found = g.get("request_id")
        return found if isinstance(found, str) else None
    return _request_id.get()


def assign_request_id(req: Any) -> str:
    """Give the request its id (the client's ``X-Request-ID`` when well formed), once:
    on admission, or by an error answered before it (a body over the size limit is
    refused while the body is read, ahead of admission)."""
    found = g.get("request_id")
    if isinstance(found, str):
        return found
    rid = header(req.headers, "X-Request-ID")
    g.request_id = rid if _REQUEST_ID.match(rid) else new_request_id()
    _request_id.set(g.request_id)
    return str(g.request_id)


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """Host names accepted in ``Host``; None accepts any (bound to a wildcard address
    with none configured: the README says to set ``allowed_hosts`` there)."""
    configured = settings.csv("allowed_hosts")
    if configured:
        return frozenset(h.lower() for h in configured)
    if is_loopback(settings.host):
        return LOOPBACK_NAMES
    if settings.host in ("0.0.0.0", "::", ""):
        return None
    return frozenset({settings.host.lower()})


def _hostname(value: str) -> str:
    return (urlsplit(f"//{value}").hostname or "").lower()


def install_transport(app: Quart, settings: Settings) -> None:
    """Request ids, Host/Origin checks, CORS (when origins are set) and headers."""
    hosts = allowed_hosts(settings)
    origins = frozenset(settings.csv("cors_origins"))

    def admit(req: Any) -> None:
        assign_request_id(req)
        if hosts is not None and _hostname(header(req.headers, "Host")) not in hosts:
            raise ApiError(400, "bad_host", "this server does not answer to that Host "
                           "header; add the name to allowed_hosts (ACTORFLOW_ALLOWED_HOSTS)",
                           {"allowed_hosts": sorted(hosts)})

    @app.before_request
    async def _admit_request() -> None:
        admit(request)

    @app.before_websocket
    async def _admit_websocket() -> None:
        admit(websocket)
        origin = websocket.headers.get("Origin")
        # Same origin: the page's host and port are the ones this request is addressed
        # to (the Host header, checked above). A host name alone let any other server of
        # this machine in (http://localhost:31337 beside :8000: the security review).
        # The scheme is not compared: a TLS proxy in front speaks https for us.
        if origin is not None and origin not in origins and (
                urlsplit(origin).netloc.lower() != header(websocket.headers, "Host").lower()):
            g.audit_denied = f"WebSocket Origin {origin} refused"
            raise ApiError(403, "bad_origin", "WebSocket connections from this Origin are "
                           "refused; add it to cors_origins (ACTORFLOW_CORS_ORIGINS)")

    tls = (("Strict-Transport-Security", "max-age=31536000"),) if settings.certfile else ()

    @app.after_request
    async def _headers(response: Response) -> Response:
        add_missing(response.headers, defaults_for(response))
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
        return response

    json_defaults = (*SECURITY_HEADERS.items(), JSON_CSP, *tls)
    other_defaults = (*SECURITY_HEADERS.items(), *tls)

    def defaults_for(response: Response) -> tuple[tuple[str, str], ...]:
        return json_defaults if response.mimetype == "application/json" else other_defaults

    if origins:
        from quart_cors import cors

        cors(app, allow_origin=sorted(origins), allow_credentials=False,
             allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
             allow_methods=["GET", "POST", "OPTIONS"],
             expose_headers=["X-Request-ID", "Retry-After"], max_age=600)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


def request_id_logging(handler: logging.Handler) -> None:
    """Give ``handler``'s records a ``request_id`` attribute (for ``%(request_id)s``).

    Called by the ``actorflow`` command on its own handlers; an app embedded in
    another program leaves that program's logging alone.
    """
    handler.addFilter(_RequestIdFilter())
