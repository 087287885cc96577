"""The :class:`~.access.AccessStore` methods of SQLStore (a mixin over its plumbing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from ..errors import StoreError
from .access import ApiKeyRecord, AuditQuery, AuditRecord
from .base import utcnow
from .db import Session
from .schema import Dialect, dumps, loads
from .writer import Op, Writer

__all__ = ["SQLAccess"]

T = TypeVar("T")
_KEY_COLUMNS = tuple(ApiKeyRecord.model_fields)
_KEY_TS = frozenset({"created_at", "last_used_at", "revoked_at"})
_AUDIT_COLUMNS = tuple(c for c in AuditRecord.model_fields if c != "id")
INSERT_AUDIT = (f"INSERT INTO audit_log ({', '.join(_AUDIT_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in _AUDIT_COLUMNS)})")


class SQLAccess:
    """Keys and audit rows through the store's unit-of-work runner and writer."""

    dialect: Dialect

    # Provided by SQLStore, which overrides these three.
    async def _run(self, unit: Callable[[Session], Awaitable[T]], *,
                   writer: bool = False) -> T:
        raise NotImplementedError

    def _w(self) -> Writer:
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    def _key_value(self, name: str, value: Any) -> Any:
        if name == "scopes":
            return dumps(list(value))
        return self.dialect.ts(value) if name in _KEY_TS else value

    def _key_from_row(self, r: dict[str, Any]) -> ApiKeyRecord:
        values = {c: r[c] for c in _KEY_COLUMNS}
        values["scopes"] = loads(values["scopes"])
        for c in _KEY_TS:
            values[c] = self.dialect.parse_ts(values[c])
        return ApiKeyRecord.model_validate(values)

    async def save_key(self, record: ApiKeyRecord) -> None:
        params = {c: self._key_value(c, getattr(record, c)) for c in _KEY_COLUMNS}
        sql = (f"INSERT INTO api_keys ({', '.join(_KEY_COLUMNS)}) "
               f"VALUES ({', '.join(':' + c for c in _KEY_COLUMNS)})")
        await self._run(lambda s: s.execute(sql, params), writer=True)

    async def _keys(self, where: str, params: dict[str, Any]) -> list[ApiKeyRecord]:
        sql = f"SELECT * FROM api_keys {where} ORDER BY created_at, id"
        return [self._key_from_row(r) for r in await self._run(lambda s: s.fetch(sql, params))]

    async def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        found = await self._keys("WHERE prefix = :p", {"p": prefix})
        return found[0] if found else None

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        found = await self._keys("WHERE id = :id", {"id": key_id})
        return found[0] if found else None

    async def list_keys(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        if tenant is None:
            return await self._keys("", {})
        return await self._keys("WHERE tenant = :t", {"t": tenant})

    async def update_key(self, key_id: str, **fields: object) -> None:
        unknown = set(fields) - set(_KEY_COLUMNS) - {"id"}
        if unknown or "id" in fields:
            raise StoreError(f"update_key: unknown or fixed field(s) {sorted(fields)}")
        names = sorted(fields)
        params = {n: self._key_value(n, fields[n]) for n in names}
        params["id"] = key_id
        sql = f"UPDATE api_keys SET {', '.join(f'{n} = :{n}' for n in names)} WHERE id = :id"
        await self._run(lambda s: s.execute(sql, params), writer=True)

    def append_audit(self, record: AuditRecord) -> None:
        params = {c: getattr(record, c) for c in _AUDIT_COLUMNS}
        params["ts"] = self.dialect.ts(record.ts)
        self._w().put_nowait(Op([(INSERT_AUDIT, params)]), urgent=False)

    async def list_audit(self, query: AuditQuery) -> list[AuditRecord]:
        await self.flush()
        where, params = ["1 = 1"], {"limit": query.limit, "offset": query.offset}
        for name in ("tenant", "actor", "action", "outcome"):
            value = getattr(query, name)
            if value is not None:
                where.append(f"{name} = :{name}")
                params[name] = value
        if query.since is not None:
            where.append("ts >= :since")
            params["since"] = self.dialect.ts(query.since)
        sql = (f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC "
               "LIMIT :limit OFFSET :offset")
        rows = await self._run(lambda s: s.fetch(sql, params))
        return [AuditRecord.model_validate({**r, "ts": self.dialect.parse_ts(r["ts"])})
                for r in rows]

    async def prune_audit(self, *, older_than_seconds: float) -> int:
        await self.flush()
        cutoff = self.dialect.ts(utcnow() - timedelta(seconds=older_than_seconds))
        rows = await self._run(lambda s: s.fetch(
            "DELETE FROM audit_log WHERE ts < :cutoff RETURNING id", {"cutoff": cutoff}),
            writer=True)
        return len(rows)
