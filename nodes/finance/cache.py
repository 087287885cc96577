"""Provider answers cached with a time-to-live, in memory and in the run store.

:class:`CachedProvider` wraps any provider. Each answer is kept under
``sha256(JSON [provider, method, arguments])`` with the time it was fetched; a
hit younger than the method's TTL is served without a request. Behind the
in-process dictionary sits, optionally, the run store's key-value cache (the
mechanism the LLM response cache uses, namespace ``market``): answers are then
shared by every process on the same database and survive restarts. The store
keeps no expiry of its own, so the fetch time travels with the value and is
checked on read.

Identical requests in flight at the same time share one fetch, and its
failure (the sentiment and news analysts both ask for the same headlines at
once: a rate-limited API is asked once, not twice). Errors are never cached.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, TypeAdapter

from runtime.store.base import Store

from .models import Fundamentals, Headline, PriceSeries, Quote
from .provider import MarketDataProvider

__all__ = ["DEFAULT_TTL", "NAMESPACE", "CachedProvider"]

NAMESPACE = "market"
#: Seconds an answer stays fresh, per method: quotes move, statements do not.
DEFAULT_TTL: dict[str, float] = {"quote": 60.0, "daily": 6 * 3600.0,
                                 "fundamentals": 24 * 3600.0, "news": 3600.0}
_HEADLINES = TypeAdapter(list[Headline])
T = TypeVar("T")


def cache_key(provider: str, method: str, *args: str) -> str:
    material = json.dumps([provider, method, *args], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


class _Flight:
    """One fetch in progress that later callers of the same key wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: Any = None
        self.ok = False
        self.error: Exception | None = None


class CachedProvider:
    """A :class:`~nodes.finance.provider.MarketDataProvider` answering from a TTL cache.

    ``hits``/``misses`` count for observability; ``clock`` is injectable for tests.
    """

    def __init__(self, provider: MarketDataProvider, *, store: Store | None = None,
                 ttl: dict[str, float] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.provider = provider
        self.name = provider.name
        self.store = store
        self.ttl = {**DEFAULT_TTL, **(ttl or {})}
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._memory: dict[str, tuple[float, Any]] = {}
        self._flights: dict[str, _Flight] = {}

    async def quote(self, symbol: str) -> Quote:
        raw = await self._cached("quote", (symbol,), lambda: self.provider.quote(symbol))
        return Quote.model_validate(raw)

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        raw = await self._cached("daily", (symbol, start, end),
                                 lambda: self.provider.daily(symbol, start, end))
        return PriceSeries.model_validate(raw)

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        raw = await self._cached("fundamentals", (symbol, as_of),
                                 lambda: self.provider.fundamentals(symbol, as_of))
        return Fundamentals.model_validate(raw)

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        raw = await self._cached("news", (symbol, start, end),
                                 lambda: self.provider.news(symbol, start, end))
        return _HEADLINES.validate_python(raw)

    async def _cached(self, method: str, args: tuple[str, ...],
                      fetch: Callable[[], Awaitable[Any]]) -> Any:
        key = cache_key(self.provider.name, method, *args)
        hit = await self._lookup(method, key)
        if hit is not None:
            self.hits += 1
            return hit
        flight = self._flights.get(key)
        if flight is not None:  # someone is fetching this right now
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.ok:
                self.hits += 1
                return flight.value
            # The fetcher was cancelled: fetch ourselves.
        self.misses += 1
        flight = self._flights[key] = _Flight()
        try:
            value = _jsonable(await fetch())
            flight.value, flight.ok = value, True
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            flight.done.set()
            self._flights.pop(key, None)
        now = self.clock()
        self._memory[key] = (now, value)
        if self.store is not None:
            self.store.cache_set(NAMESPACE, key, {"fetched_at": now, "value": value})
        return value

    async def _lookup(self, method: str, key: str) -> Any:
        ttl = self.ttl[method]
        now = self.clock()
        entry = self._memory.get(key)
        if entry is not None and now - entry[0] < ttl:
            return entry[1]
        if self.store is None:
            return None
        stored = await self.store.cache_get(NAMESPACE, key)
        if (isinstance(stored, dict) and isinstance(stored.get("fetched_at"), int | float)
                and now - stored["fetched_at"] < ttl):
            self._memory[key] = (float(stored["fetched_at"]), stored.get("value"))
            return stored.get("value")
        return None

    async def aclose(self) -> None:
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            await close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
