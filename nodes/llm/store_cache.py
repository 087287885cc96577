"""LLM responses cached in the run store, so they survive restarts and are shared by
every process on the same database (in front of it, the in-memory cache)."""

from __future__ import annotations

from runtime.store.base import Store

from .base import LLMResponse
from .cache import MemoryCache

__all__ = ["StoreCache", "TieredCache"]

NAMESPACE = "llm"


class StoreCache:
    """A ResponseCache on a Store's key-value cache (namespace ``llm``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, key: str) -> LLMResponse | None:
        raw = await self.store.cache_get(NAMESPACE, key)
        return None if raw is None else LLMResponse.model_validate(raw)

    async def set(self, key: str, response: LLMResponse) -> None:
        self.store.cache_set(NAMESPACE, key, response.model_dump(mode="json"))


class TieredCache:
    """Memory first, then the store; a store hit is kept in memory too."""

    def __init__(self, memory: MemoryCache, store: StoreCache) -> None:
        self.memory = memory
        self.store = store

    async def get(self, key: str) -> LLMResponse | None:
        hit = await self.memory.get(key)
        if hit is None:
            hit = await self.store.get(key)
            if hit is not None:
                await self.memory.set(key, hit)
        return hit

    async def set(self, key: str, response: LLMResponse) -> None:
        await self.memory.set(key, response)
        await self.store.set(key, response)
