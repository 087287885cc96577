"""API keys: made, hashed, checked, listed, revoked and rotated.

A key reads ``af_<prefix>_<secret>``. The prefix is stored in clear and finds the row
(unique index); the whole key is stored only as its SHA-256. Keys are 256 random bits,
so a fast hash is safe: nobody can guess a preimage, and the slow hashes meant for
human passwords (argon2, bcrypt) would add tens of milliseconds to every request for
no gain. The key itself is returned once, when made, and never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from runtime.store import AccessStore, ApiKeyRecord, utcnow

from .principal import Principal

__all__ = ["KEY_PREFIX", "KeyRing", "NewKey", "hash_key", "split_key"]

KEY_PREFIX = "af_"
#: ``last_used_at`` is written at most this often per key (not once per request).
LAST_USED_EVERY = timedelta(seconds=60)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = key[len(KEY_PREFIX):].partition("_")
    if not sep or len(prefix) != 12 or len(secret) < 32:
        return None
    return prefix, secret


class NewKey:
    """A key just made: ``key`` is shown once; ``record`` is what was stored."""

    def __init__(self, key: str, record: ApiKeyRecord) -> None:
        self.key = key
        self.record = record


class KeyRing:
    """The key operations, over a store's access tables."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    async def create(self, *, name: str, tenant: str, scopes: frozenset[str]) -> NewKey:
        prefix = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        record = ApiKeyRecord(id=str(uuid.uuid4()), prefix=prefix, hash=hash_key(key),
                              name=name, tenant=tenant, scopes=sorted(scopes))
        await self.store.save_key(record)
        return NewKey(key, record)

    async def verify(self, key: str) -> Principal | None:
        """The key's principal, or None for a malformed, unknown, revoked or wrong key."""
        parts = split_key(key)
        if parts is None:
            return None
        record = await self.store.key_by_prefix(parts[0])
        now = utcnow()
        if record is None or not hmac.compare_digest(record.hash, hash_key(key)):
            return None
        if record.revoked_at is not None and record.revoked_at <= now:
            return None
        if record.last_used_at is None or now - record.last_used_at > LAST_USED_EVERY:
            await self.store.update_key(record.id, last_used_at=now)
        return Principal(subject=record.name, tenant=record.tenant,
                         scopes=frozenset(record.scopes), kind="key", key_id=record.id)

    async def in_force(self, key_id: str) -> bool:
        """Whether the key still opens anything (it exists and is not revoked yet)."""
        record = await self.store.get_key(key_id)
        return record is not None and (record.revoked_at is None
                                       or record.revoked_at > utcnow())

    async def revoke(self, key_id: str, *, at: datetime | None = None) -> ApiKeyRecord | None:
        record = await self.store.get_key(key_id)
        if record is None:
            return None
        when = at or utcnow()
        if record.revoked_at is None or record.revoked_at > when:
            await self.store.update_key(key_id, revoked_at=when)
        return await self.store.get_key(key_id)

    async def rotate(self, key_id: str, *, grace_seconds: float = 0.0) -> NewKey | None:
        """A new key with the same name, tenant and scopes; the old one stops working
        after ``grace_seconds`` (time to roll the new one out)."""
        old = await self.store.get_key(key_id)
        if old is None:
            return None
        new = await self.create(name=old.name, tenant=old.tenant, scopes=frozenset(old.scopes))
        await self.revoke(key_id, at=utcnow() + timedelta(seconds=grace_seconds))
        await self.store.update_key(key_id, replaced_by=new.record.id)
        return new
