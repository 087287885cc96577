"""Versioned schema migrations, applied by ``open()``.

Idempotent (each version is recorded in ``schema_migrations``) and safe when
several processes open the same database at once: the whole check-and-apply
runs in one transaction that first takes a lock — ``pg_advisory_xact_lock`` on
PostgreSQL (released by the commit), the write lock (``BEGIN IMMEDIATE``) on
SQLite — so a second process waits, then finds everything applied.
"""

from __future__ import annotations

from .base import utcnow
from .db import Session
from .schema import MIGRATIONS, RAW_MIGRATIONS

__all__ = ["LOCK_KEY", "migrate"]

#: The advisory lock key ("actorflw" as an int) all actorflow processes agree on.
LOCK_KEY = int.from_bytes(b"actorflw", "big") & 0x7FFF_FFFF_FFFF_FFFF


async def migrate(s: Session) -> list[int]:
    """Apply the missing migrations; return the versions applied now."""
    d = s.dialect
    applied: list[int] = []
    async with s.transaction():
        if d.postgres:
            await s.execute("SELECT pg_advisory_xact_lock(:key)", {"key": LOCK_KEY})
        await s.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            f"version INTEGER PRIMARY KEY, applied_at {d.ts_type} NOT NULL)")
        done = {int(r["version"]) for r in await s.fetch("SELECT version FROM schema_migrations")}
        for version, template in MIGRATIONS:
            if version in done:
                continue
            for statement in d.ddl(template):
                await s.execute(statement)
            for statement in RAW_MIGRATIONS.get(version, {}).get(d.name, []):
                await s.raw_execute(statement)
            await s.execute("INSERT INTO schema_migrations (version, applied_at) "
                            "VALUES (:v, :at)", {"v": version, "at": d.ts(utcnow())})
            applied.append(version)
    return applied
