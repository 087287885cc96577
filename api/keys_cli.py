"""``actorflow keys create|list|revoke|rotate``: API keys, straight in the database.

For the operator (who holds the database URL): the HTTP admin endpoints do the same
for a key with the ``admin`` scope, within its tenant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import cast

from runtime.store import AccessStore, ApiKeyRecord, open_store

from .auth import KeyRing, parse_scopes
from .settings import Settings

__all__ = ["keys"]


async def keys(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url.startswith("memory"):
        print("actorflow keys: keys in memory:// vanish with this command; use the server's "
              "--database-url", file=sys.stderr)
        return 2
    store = open_store(settings.database_url)
    await store.open()
    try:
        ring = KeyRing(cast(AccessStore, store))
        return await _dispatch(args, ring)
    finally:
        await store.close()


async def _dispatch(args: argparse.Namespace, ring: KeyRing) -> int:
    command = args.keys_command
    if command == "create":
        try:
            scopes = parse_scopes(args.scopes)
        except ValueError as exc:
            print(f"actorflow keys create: --scopes: {exc}", file=sys.stderr)
            return 2
        new = await ring.create(name=args.name, tenant=args.tenant, scopes=scopes)
        _created(new.key, new.record)
        return 0
    if command == "list":
        rows = [_row(k) for k in await ring.store.list_keys(args.tenant)]
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
        for row in [] if args.json else rows:
            print("  ".join("" if v is None else str(v) for v in row.values()))
        if not rows and not args.json:
            whose = f" of tenant {args.tenant}" if args.tenant else ""
            print(f"no API keys{whose}; create one with `actorflow keys create --name NAME "
                  "--scopes runs:read,runs:write`")
        return 0
    if command == "revoke":
        found = await ring.revoke(args.key_id)
        if found is None:
            print(f"actorflow keys revoke: no key with id {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {found.id} ({found.name}, tenant {found.tenant})")
        return 0
    new_key = await ring.rotate(args.key_id, grace_seconds=args.grace)
    if new_key is None:
        print(f"actorflow keys rotate: no key with id {args.key_id}", file=sys.stderr)
        return 1
    _created(new_key.key, new_key.record)
    print(f"the old key {args.key_id} stops working in {args.grace:g} s", file=sys.stderr)
    return 0


def _created(key: str, record: ApiKeyRecord) -> None:
    print(key)  # alone on stdout, so `KEY=$(actorflow keys create ...)` works
    print(f"key {record.id} ({record.name}, tenant {record.tenant}, scopes "
          f"{','.join(record.scopes)}): shown this once, store it now", file=sys.stderr)


def _row(k: ApiKeyRecord) -> dict[str, object]:
    return {"id": k.id, "name": k.name, "tenant": k.tenant, "scopes": ",".join(k.scopes),
            "created_at": k.created_at, "last_used_at": k.last_used_at,
            "revoked_at": k.revoked_at}
