"""Stores: where graphs, runs, checkpoints and events are kept.

Use :func:`open_store` to get one from a URL::

    store = open_store("sqlite:///actorflow.db")
    await store.open()
"""

from __future__ import annotations

from .access import AccessStore, ApiKeyRecord, AuditQuery, AuditRecord
from .base import (
    DEFAULT_TENANT,
    Checkpoint,
    GraphRecord,
    RunRecord,
    Store,
    ThreadRecord,
    utcnow,
)
from .durability import check_durability
from .errors import GraphExistsError, ThreadExistsError
from .memory import MemoryStore

__all__ = [
    "DEFAULT_TENANT",
    "AccessStore",
    "ApiKeyRecord",
    "AuditQuery",
    "AuditRecord",
    "Checkpoint",
    "GraphExistsError",
    "GraphRecord",
    "MemoryStore",
    "RunRecord",
    "Store",
    "ThreadExistsError",
    "ThreadRecord",
    "open_store",
    "utcnow",
]


def open_store(url: str, *, durability: str | None = None, **options: object) -> Store:
    """A store for ``url`` (not yet opened): ``memory://``, ``sqlite:///path.db``,
    ``postgresql://...`` or ``postgres://...``. ``durability`` (``"process"``, the
    default, or ``"power"``) and ``options`` go to the SQL store; a memory store keeps
    nothing past the process, so it takes no durability."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        if durability is not None:
            check_durability(durability)
            raise ValueError(
                f"durability={durability!r} needs a store that outlives the process; "
                f"{url!r} keeps runs in memory: use sqlite:///path.db or postgresql://...")
        return MemoryStore(url)
    if scheme in {"sqlite", "postgresql", "postgres"} or scheme.startswith(
        ("sqlite+", "postgresql+")
    ):
        from .sql import SQLStore  # imported lazily: `databases` is heavy

        if durability is not None:
            options["durability"] = durability
        return SQLStore(url, **options)  # type: ignore[arg-type]
    raise ValueError(
        f"unsupported store URL {url!r}; use memory://, sqlite:///path.db or "
        f"postgresql://user@host/db"
    )
