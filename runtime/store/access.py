"""Access records: hashed API keys and the audit log, and what a store offers for them.

The runtime never reads these; the API's authentication (``api/auth``) does. They live
in the store because they must be in the same database as the runs they guard, and
hold across several processes on one PostgreSQL. Records are plain data: no web here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from .base import DEFAULT_TENANT, utcnow

__all__ = ["AccessStore", "ApiKeyRecord", "AuditQuery", "AuditRecord"]


class ApiKeyRecord(BaseModel):
    """An API key as stored: never the key itself, only its lookup prefix and hash."""

    id: str
    prefix: str                       # public part of the key, unique: finds the row
    hash: str                         # SHA-256 of the whole key (hex)
    name: str
    tenant: str = DEFAULT_TENANT
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    replaced_by: str | None = None    # the key that rotated this one out


class AuditRecord(BaseModel):
    """Who did what, to which resource, with which outcome, and when."""

    id: int | None = None
    ts: datetime = Field(default_factory=utcnow)
    tenant: str
    actor: str                        # key id, JWT subject, handler subject, or "anonymous"
    actor_kind: str                   # "key" | "jwt" | "handler" | "anonymous"
    ip: str | None = None
    action: str                       # "POST /api/v1/graph/run" or a named action
    resource: str | None = None       # "run:<id>", "graph:<id>", "key:<id>"
    outcome: str                      # "ok" | "denied" | "failed"
    status: int
    request_id: str | None = None
    detail: str | None = None


class AuditQuery(BaseModel):
    """Filters of :meth:`AccessStore.list_audit` (newest first)."""

    tenant: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    limit: int = 100
    offset: int = 0


@runtime_checkable
class AccessStore(Protocol):
    """Keys and audit entries; implemented by MemoryStore and SQLStore."""

    async def save_key(self, record: ApiKeyRecord) -> None: ...

    async def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...

    async def get_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list_keys(self, tenant: str | None = None) -> list[ApiKeyRecord]: ...

    async def update_key(self, key_id: str, **fields: object) -> None: ...

    def append_audit(self, record: AuditRecord) -> None:
        """Queue an entry; never waits (written with the next commit)."""

    async def list_audit(self, query: AuditQuery) -> list[AuditRecord]: ...

    async def prune_audit(self, *, older_than_seconds: float) -> int: ...
