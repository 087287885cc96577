"""The door: every HTTP request and WebSocket passes here before its handler.

Order: per-IP rate, the route's decision (:mod:`.policy`; none means refused),
authentication (:mod:`.gate`), per-key rate, the scope, then the tenant of the run,
graph or key the path names. Writes and refusals are written to the audit log
after the response is made (:mod:`.audit`).
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, g, request, websocket

from ..errors import ApiError
from ..settings import Settings
from .audit import audit_request, audit_websocket
from .context import (
    AUTH_KEY,
    AuthState,
    state,
    visible_graph,
    visible_key,
    check_run,
    visible_thread,
)
from .handler import AuthRequest
from .limits import retry_after
from .policy import Rule, decision
from .principal import LOCAL

__all__ = ["install_auth"]

log = logging.getLogger("actorflow.auth")

#: Methods that change nothing: audited only when refused.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


#: Control characters (C0, DEL, C1) and the line and paragraph separators, as escapes.
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
            for c in (*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029)}


def printable(text: str) -> str:
    """``text`` with every character that could break a log line written as an escape
    (``\\x0a``), so one request is one line whatever it asked for."""
    return text.translate(_ESCAPES)


def install_auth(app: Quart, settings: Settings) -> None:
    """Guard every route of ``app`` as ``settings`` say."""
    app.extensions[AUTH_KEY] = AuthState(settings)

    @app.before_request
    async def _guard_request() -> None:
        if request.method == "OPTIONS":
            return  # a CORS preflight carries no credentials; it reads nothing
        await _guard(request, None)  # tickets are for WebSockets only

    @app.before_websocket
    async def _guard_websocket() -> None:
        await _guard(websocket, websocket.args.get("ticket"))
        _count_websocket()

    @app.teardown_websocket
    async def _release_websocket(exc: BaseException | None) -> None:
        who = g.get("ws_counted")
        if who is not None:
            st = state()
            st.ws_open[who] -= 1
            if st.ws_open[who] <= 0:
                del st.ws_open[who]

    @app.after_request
    async def _audit(response: Response) -> Response:
        refused = _refused(response.status_code)
        if refused:
            who = g.get("principal")
            # The path as the client sent it, control characters escaped: a "%0a" in it
            # must not start a forged line in the log.
            log.warning("refused %s %s with %s for %s from %s", request.method,
                        printable(request.path),
                        response.status_code, who.actor if who else "anonymous",
                        request.remote_addr)
        if request.method not in SAFE_METHODS or refused:
            await audit_request(response)
        return response

    @app.after_websocket
    async def _audit_ws(response: Any) -> Any:
        if response is not None and _refused(response.status_code):
            audit_websocket(response.status_code)
        return response


def _refused(status: int) -> bool:
    return status in (401, 403, 429) or bool(g.get("audit_denied"))


async def _guard(req: Any, ticket: str | None) -> None:
    st = state()
    if st.gate.enabled:
        _limit(st.per_ip.take(f"ip:{req.remote_addr}"), "rate_per_ip",
               st.settings.rate_per_ip)
    if req.url_rule is None:
        return  # routing answers 404/405 itself
    rule = decision(req.endpoint) or st.extra.get(req.endpoint or "")
    if rule is None:
        g.audit_denied = f"endpoint {req.endpoint} has no authorization decision"
        log.error("refused %s %s: endpoint %s has no entry in api/auth/policy.py", req.method,
                  req.path, req.endpoint)
        raise ApiError(403, "no_auth_decision", "this route has no authorization decision "
                       "yet, so it is refused; see the server log")
    if rule.public:
        return
    # Without authentication the gate answers LOCAL: no request (a copy of every
    # header) built for it.
    who = LOCAL if not st.gate.enabled else await st.gate.authenticate(
        AuthRequest(method=req.method, path=req.path, client=req.remote_addr,
                    headers={k.lower(): v for k, v in req.headers.items()}), ticket=ticket)
    g.principal = who
    if st.gate.enabled:
        _limit(st.per_key.take(f"{who.kind}:{who.actor}"), "rate_per_key",
               st.settings.rate_per_key)
    _check_scope(rule, who.scopes, req)
    if not rule.in_route:
        await _check_resources(rule, req.view_args or {})


def _limit(wait: float, name: str, rate: float) -> None:
    if wait:
        g.audit_denied = f"{name} exceeded"
        raise ApiError(429, "rate_limited",
                       f"too many requests: the limit {name} is {rate:g} per second; retry "
                       f"after {retry_after(wait)} s", {"limit": name, "per_second": rate},
                       headers={"Retry-After": retry_after(wait)})


def _check_scope(rule: Rule, scopes: frozenset[str], req: Any) -> None:
    if rule.scope and rule.scope not in scopes:
        raise ApiError(403, "forbidden", f"{req.method} {req.url_rule.rule} needs the scope "
                       f"{rule.scope!r}, which this credential does not have",
                       {"missing_scope": rule.scope})


async def _check_resources(rule: Rule, args: dict[str, Any]) -> None:
    if rule.run is not None:
        await check_run(str(args[rule.run]))
    if rule.graph is not None:
        await visible_graph(str(args[rule.graph]))
    if rule.key is not None:
        await visible_key(str(args[rule.key]))
    if rule.thread is not None:
        await visible_thread(str(args[rule.thread]))


def _count_websocket() -> None:
    st = state()
    who = g.get("principal")
    if who is None or not st.gate.enabled:
        return
    name = f"{who.kind}:{who.actor}"
    if st.ws_open.get(name, 0) >= st.settings.max_ws_per_key:
        g.audit_denied = "max_ws_per_key reached"
        raise ApiError(429, "too_many_websockets",
                       f"this credential already holds {st.settings.max_ws_per_key} WebSocket "
                       "feeds open (the limit max_ws_per_key); close one first",
                       {"limit": "max_ws_per_key", "value": st.settings.max_ws_per_key},
                       headers={"Retry-After": "1"})
    st.ws_open[name] = st.ws_open.get(name, 0) + 1
    g.ws_counted = name
