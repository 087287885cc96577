"""A store opened from outside the runtime under test (as another process would read
it), closed after the block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from runtime.store import Store, open_store


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    """The store at ``url``, read from outside the workload, closed after the block."""
    store = open_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
