"""Bodies of the access routes: keys, WebSocket tickets, the audit log, whoami."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditEntryOut", "AuditList", "AuditQueryIn", "KeyCreate", "KeyCreated", "KeyList",
           "KeyOut", "KeyRotate", "TicketOut", "WhoAmI"]


class KeyCreate(BaseModel):
    """``POST /api/v1/keys``: a key for the caller's tenant."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=10,
                              description="graphs:read, graphs:write, runs:read, runs:write, "
                              "runs:resume, admin (or *)")


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: float = Field(0.0, ge=0, le=30 * 24 * 3600,
                                 description="how long the old key keeps working")


class KeyOut(BaseModel):
    id: str
    name: str
    tenant: str
    scopes: list[str]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None


class KeyCreated(KeyOut):
    key: str = Field(description="the key itself: shown this once, never again")


class KeyList(BaseModel):
    items: list[KeyOut]


class TicketOut(BaseModel):
    ticket: str
    expires_in: float
    usage: str


class WhoAmI(BaseModel):
    subject: str
    tenant: str
    scopes: list[str]
    kind: str
    auth: str


class AuditQueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = None
    action: str | None = None
    outcome: str | None = Field(None, pattern="^(ok|denied|failed)$")
    since: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10**9)


class AuditEntryOut(BaseModel):
    id: int | None
    ts: datetime
    tenant: str
    actor: str
    actor_kind: str
    ip: str | None
    action: str
    resource: str | None
    outcome: str
    status: int
    request_id: str | None
    detail: str | None


class AuditList(BaseModel):
    items: list[AuditEntryOut]
    limit: int
    offset: int
