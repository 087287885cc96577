"""Access: who am I, WebSocket tickets, API keys (admin) and the audit log (admin)."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_querystring, document_response, tag

from runtime.store import ApiKeyRecord, AuditQuery

from ..auth import access_store, keyring, principal, state, tenant
from ..auth.principal import parse_scopes
from ..auth.schemas import (
    AuditEntryOut,
    AuditList,
    AuditQueryIn,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
    KeyRotate,
    TicketOut,
    WhoAmI,
)
from ..body import json_body, parse_query
from ..errors import ApiError
from ..schemas import ErrorBody
from . import reply

__all__ = ["access", "key_out"]

access = Blueprint("access", __name__)


def key_out(r: ApiKeyRecord) -> KeyOut:
    return KeyOut(id=r.id, name=r.name, tenant=r.tenant, scopes=r.scopes, prefix=r.prefix,
                  created_at=r.created_at, last_used_at=r.last_used_at,
                  revoked_at=r.revoked_at, replaced_by=r.replaced_by)


@access.get("/api/v1/auth/whoami")
@tag(["access"])
@document_response(WhoAmI)
@document_response(ErrorBody, 401)
async def whoami() -> Response:
    """The caller as the server sees it: subject, tenant and scopes."""
    p = principal()
    return reply(WhoAmI(subject=p.subject, tenant=p.tenant, scopes=sorted(p.scopes),
                        kind=p.kind, auth=state().gate.mode))


@access.post("/api/v1/ws-tickets")
@tag(["access"])
@document_response(TicketOut, 201)
@document_response(ErrorBody, 401)
async def ws_ticket() -> Response:
    """A single-use ticket for one WebSocket (browsers cannot send headers on one):
    open ``/api/v1/graph/ws/{run_id}?ticket=...`` within ``expires_in`` seconds."""
    book = state().gate.tickets
    return reply(TicketOut(ticket=book.issue(principal()), expires_in=book.ttl,
                           usage="/api/v1/graph/ws/{run_id}?ticket=<ticket>"), 201)


@access.post("/api/v1/keys")
@tag(["access"])
@document_response(KeyCreated, 201)
@document_response(ErrorBody, 400)
@json_body(KeyCreate)
async def create_key(data: KeyCreate) -> Response:
    """A new API key of the caller's tenant; the key is in this answer only."""
    try:
        scopes = parse_scopes(data.scopes)
    except ValueError as exc:
        raise ApiError(400, "validation_error", str(exc), [{"path": "scopes",
                       "message": str(exc), "type": "value_error"}]) from exc
    new = await keyring().create(name=data.name, tenant=tenant(), scopes=scopes)
    return reply(KeyCreated(**key_out(new.record).model_dump(), key=new.key), 201)


@access.get("/api/v1/keys")
@tag(["access"])
@document_response(KeyList)
async def list_keys() -> Response:
    """The tenant's keys (never the keys themselves), revoked ones included."""
    return reply(KeyList(items=[key_out(k) for k in await access_store().list_keys(tenant())]))


@access.post("/api/v1/keys/<key_id>/revoke")
@tag(["access"])
@document_response(KeyOut)
@document_response(ErrorBody, 404)
async def revoke_key(key_id: str) -> Response:
    """Revoke a key now (idempotent)."""
    found = await keyring().revoke(key_id)
    if found is None:
        raise ApiError(404, "key_not_found", f"no API key with id {key_id!r}",
                       {"key_id": key_id})
    state().revocations.revoked(key_id)   # its open feeds end now
    return reply(key_out(found))


@access.post("/api/v1/keys/<key_id>/rotate")
@tag(["access"])
@document_response(KeyCreated, 201)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
@json_body(KeyRotate)
async def rotate_key(key_id: str, data: KeyRotate) -> Response:
    """A new key with the same name and scopes; the old one works ``grace_seconds`` more."""
    new = await keyring().rotate(key_id, grace_seconds=data.grace_seconds)
    if new is None:
        raise ApiError(404, "key_not_found", f"no API key with id {key_id!r}",
                       {"key_id": key_id})
    return reply(KeyCreated(**key_out(new.record).model_dump(), key=new.key), 201)


@access.get("/api/v1/audit")
@tag(["access"])
@document_querystring(AuditQueryIn)
@document_response(AuditList)
@document_response(ErrorBody, 400)
async def audit() -> Response:
    """The tenant's audit log, newest first: writes and refusals, filtered."""
    q = parse_query(AuditQueryIn)
    rows = await access_store().list_audit(AuditQuery(
        tenant=tenant(), actor=q.actor, action=q.action, outcome=q.outcome, since=q.since,
        limit=q.limit, offset=q.offset))
    return reply(AuditList(items=[AuditEntryOut(**r.model_dump()) for r in rows],
                           limit=q.limit, offset=q.offset))
