"""The :class:`~.access.AccessStore` methods of MemoryStore (a mixin over two dicts)."""

from __future__ import annotations

from datetime import timedelta

from ..errors import StoreError
from .access import ApiKeyRecord, AuditQuery, AuditRecord
from .base import utcnow

__all__ = ["MemoryAccess"]


class MemoryAccess:
    """Keys by id and audit entries in insertion order; copies in and out."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKeyRecord] = {}
        self._audit: list[AuditRecord] = []

    async def save_key(self, record: ApiKeyRecord) -> None:
        if record.id in self._keys or any(k.prefix == record.prefix for k in self._keys.values()):
            raise StoreError(f"an API key with id {record.id!r} or its prefix already exists")
        self._keys[record.id] = record.model_copy(deep=True)

    async def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        found = next((k for k in self._keys.values() if k.prefix == prefix), None)
        return None if found is None else found.model_copy(deep=True)

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        found = self._keys.get(key_id)
        return None if found is None else found.model_copy(deep=True)

    async def list_keys(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        return [k.model_copy(deep=True) for k in sorted(self._keys.values(),
                                                        key=lambda k: (k.created_at, k.id))
                if tenant is None or k.tenant == tenant]

    async def update_key(self, key_id: str, **fields: object) -> None:
        key = self._keys.get(key_id)
        if key is not None:
            self._keys[key_id] = key.model_copy(update=fields)

    def append_audit(self, record: AuditRecord) -> None:
        self._audit.append(record.model_copy(update={"id": len(self._audit) + 1}))

    async def list_audit(self, query: AuditQuery) -> list[AuditRecord]:
        found = [a for a in reversed(self._audit)
                 if all(getattr(query, n) is None or getattr(a, n) == getattr(query, n)
                        for n in ("tenant", "actor", "action", "outcome"))
                 and (query.since is None or a.ts >= query.since)]
        return [a.model_copy() for a in found[query.offset:query.offset + query.limit]]

    async def prune_audit(self, *, older_than_seconds: float) -> int:
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        before = len(self._audit)
        self._audit = [a for a in self._audit if a.ts >= cutoff]
        return before - len(self._audit)
