"""Audit entries: who (key or subject, tenant, IP) did what (action, resource, outcome),
when. Written for every write and every refusal; never with credentials or bodies.

Entries are queued on the store's writer (batched with other writes, never waited
on), so auditing costs a request no database round trip.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import g, request, websocket

from runtime.store import DEFAULT_TENANT, AuditRecord

from ..current import service
from .context import access_store
from .principal import Principal

__all__ = ["audit_request", "audit_websocket", "record"]

log = logging.getLogger("actorflow.auth")

_RESOURCE_ARGS = (("run_id", "run"), ("graph_id", "graph"), ("key_id", "key"))


def record(*, action: str, status: int, outcome: str, resource: str | None = None,
           detail: str | None = None, ip: str | None = None) -> None:
    """Queue one entry for the caller of the current request (if the store is up)."""
    if service().runtime is None:
        return
    who = g.get("principal")
    principal = who if isinstance(who, Principal) else None
    try:
        access_store().append_audit(AuditRecord(
            tenant=principal.tenant if principal else DEFAULT_TENANT,
            actor=principal.actor if principal else "anonymous",
            actor_kind=principal.kind if principal else "anonymous",
            ip=ip, action=action, resource=resource, outcome=outcome, status=status,
            request_id=g.get("request_id"), detail=detail))
    except Exception:  # noqa: BLE001 - a full writer queue must not fail the request
        log.exception("could not queue an audit entry for %s", action)


def _resource(args: dict[str, Any], body: Any) -> str | None:
    for name, kind in _RESOURCE_ARGS:
        if name in args:
            return f"{kind}:{args[name]}"
    if isinstance(body, dict):
        for name, kind in _RESOURCE_ARGS:
            if isinstance(body.get(name), str):
                return f"{kind}:{body[name]}"
        if isinstance(body.get("id"), str):
            return f"key:{body['id']}"
    return None


def _outcome(status: int) -> str:
    if status in (401, 403, 429) or g.get("audit_denied"):
        return "denied"
    return "ok" if status < 400 else "failed"


async def audit_request(response: Any) -> None:
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    resource = g.get("audit_resource") if response.status_code < 300 else None
    if resource is None:
        # Parsing the answer costs; a route that creates a resource names it instead.
        body = (await response.get_json(force=False)
                if response.is_json and response.status_code < 300 else None)
        resource = _resource(request.view_args or {}, body)
    record(action=f"{request.method} {rule}", status=response.status_code,
           outcome=_outcome(response.status_code), ip=request.remote_addr,
           resource=resource, detail=g.get("audit_denied"))


def audit_websocket(status: int) -> None:
    rule = websocket.url_rule.rule if websocket.url_rule is not None else websocket.path
    record(action=f"WS {rule}", status=status, outcome=_outcome(status),
           ip=websocket.remote_addr, resource=_resource(websocket.view_args or {}, None),
           detail=g.get("audit_denied"))
