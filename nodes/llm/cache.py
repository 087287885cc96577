"""Response caching.

Identical requests to the same provider and model are answered from a cache:
re-running a workflow (after a crash, or while iterating on a later node)
then costs nothing and returns the very same text, which keeps runs replayable.

The key is ``sha256`` over a JSON array of provider, model, system, prompt,
max_tokens and temperature; JSON (not string concatenation) makes the
encoding unambiguous, so ``("ab", "c")`` and ``("a", "bc")`` never collide.

:class:`ResponseCache` is the storage protocol; :class:`MemoryCache` is a
bounded in-process LRU, and a store-backed implementation (shared between
workers, persistent across restarts) only needs ``get``/``set``.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from .base import LLMProvider, LLMRequest, LLMResponse, TokenSink, stream_or_complete

__all__ = ["CachingProvider", "MemoryCache", "ResponseCache", "cache_key"]


def cache_key(provider: str, model: str, request: LLMRequest) -> str:
    """The hex sha256 identifying ``request`` sent to ``provider``/``model``."""
    material = json.dumps(
        [
            provider,
            model,
            request.system,
            request.prompt,
            request.max_tokens,
            request.temperature,
            # Only when used, so the keys of plain prompts stay what they were.
            *([list(request.messages), [t.model_dump() for t in request.tools]]
              if request.messages or request.tools else []),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@runtime_checkable
class ResponseCache(Protocol):
    """Async key/value storage of responses (async so that it can be a database)."""

    async def get(self, key: str) -> LLMResponse | None:
        """The cached response, or ``None``."""
        ...

    async def set(self, key: str, response: LLMResponse) -> None:
        """Store ``response`` under ``key``."""
        ...


class MemoryCache:
    """A bounded LRU cache in process memory (per process, lost on restart).

    ``hits``/``misses`` are counted for observability.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, LLMResponse] = OrderedDict()

    # No awaits inside: each method is atomic with respect to other tasks,
    # so no lock is needed on either asyncio or trio.
    async def get(self, key: str) -> LLMResponse | None:
        response = self._entries.get(key)
        if response is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return response

    async def set(self, key: str, response: LLMResponse) -> None:
        self._entries[key] = response
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


class CachingProvider:
    """Wraps a provider; answers repeated requests from ``cache`` with ``cached=True``.

    A hit reports ``cost_usd=0.0`` (nothing was billed) but keeps the original
    ``usage``. Errors are never cached. Two identical requests in flight at the
    same time both reach the provider (no request coalescing).
    """

    def __init__(self, provider: LLMProvider, cache: ResponseCache | None = None) -> None:
        self.provider = provider
        self.cache: ResponseCache = cache if cache is not None else MemoryCache()
        self.name = provider.name
        self.model = provider.model

    async def complete(self, request: LLMRequest) -> LLMResponse:
        key = cache_key(self.provider.name, self.provider.model, request)
        hit = await self.cache.get(key)
        if hit is not None:
            return hit.model_copy(update={"cached": True, "cost_usd": 0.0})
        response = await self.provider.complete(request)
        await self.cache.set(key, response)
        return response

    async def stream(self, request: LLMRequest, on_token: TokenSink) -> LLMResponse:
        """A hit is handed over as one piece; a miss streams from the provider."""
        key = cache_key(self.provider.name, self.provider.model, request)
        hit = await self.cache.get(key)
        if hit is not None:
            if hit.text:
                on_token(hit.text)
            return hit.model_copy(update={"cached": True, "cost_usd": 0.0})
        response = await stream_or_complete(self.provider, request, on_token)
        await self.cache.set(key, response)
        return response
