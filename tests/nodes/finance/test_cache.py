"""Provider answers cached with a TTL, in memory and through the run store."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from nodes.finance.cache import NAMESPACE, CachedProvider, cache_key
from nodes.finance.errors import RateLimited
from nodes.finance.models import Fundamentals, Headline, PriceSeries, Quote
from nodes.finance.offline import OfflineProvider
from runtime import MemoryStore, open_store


class Counting:
    """The offline provider, counting calls; it can be made to fail or to wait."""

    name = "counting"

    def __init__(self) -> None:
        self.inner = OfflineProvider()
        self.calls: list[str] = []
        self.fail = False
        self.gate: anyio.Event | None = None

    async def quote(self, symbol: str) -> Quote:
        self.calls.append("quote")
        if self.fail:
            raise RateLimited("slow down", provider=self.name)
        return await self.inner.quote(symbol)

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        self.calls.append("daily")
        return await self.inner.daily(symbol, start, end)

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        self.calls.append("fundamentals")
        return await self.inner.fundamentals(symbol, as_of)

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        self.calls.append("news")
        if self.gate is not None:
            await self.gate.wait()
        return await self.inner.news(symbol, start, end)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_fresh_answer_is_served_from_memory_and_an_old_one_refetched() -> None:
    inner, clock = Counting(), Clock()
    cached = CachedProvider(inner, ttl={"quote": 60}, clock=clock)
    first = await cached.quote("AAPL")
    clock.now += 59
    assert await cached.quote("AAPL") == first
    assert inner.calls == ["quote"]
    clock.now += 2
    await cached.quote("AAPL")
    assert inner.calls == ["quote", "quote"]
    assert (cached.hits, cached.misses) == (1, 2)


async def test_answers_keep_their_types_through_the_cache() -> None:
    cached = CachedProvider(Counting())
    for _ in range(2):
        prices = await cached.daily("AAPL", "2016-01-01", "2016-02-01")
        news = await cached.news("AAPL", "2016-01-01", "2016-06-30")
        figures = await cached.fundamentals("AAPL", "2016-06-30")
    assert isinstance(prices, PriceSeries) and prices.dates[0] == "2016-01-04"
    assert isinstance(news[0], Headline) and isinstance(figures, Fundamentals)
    assert cached.hits == 3


async def test_concurrent_identical_requests_share_one_failure() -> None:
    inner = Counting()
    inner.fail = True
    cached = CachedProvider(inner)
    errors: list[Exception] = []

    async def ask() -> None:
        try:
            await cached.quote("AAPL")
        except RateLimited as exc:
            errors.append(exc)

    original = inner.quote

    async def slow_quote(symbol: str) -> Quote:
        await anyio.wait_all_tasks_blocked()
        return await original(symbol)

    inner.quote = slow_quote  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        tg.start_soon(ask)
    assert inner.calls == ["quote"] and len(errors) == 2


async def test_errors_are_not_cached() -> None:
    inner = Counting()
    inner.fail = True
    cached = CachedProvider(inner)
    for _ in range(2):
        with pytest.raises(RateLimited):
            await cached.quote("AAPL")
    assert inner.calls == ["quote", "quote"]


async def test_concurrent_identical_requests_share_one_fetch() -> None:
    inner = Counting()
    inner.gate = anyio.Event()
    cached = CachedProvider(inner)
    results: list[list[Headline]] = []

    async def ask() -> None:
        results.append(await cached.news("AAPL", "2016-04-01", "2016-06-30"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        inner.gate.set()
    assert inner.calls == ["news"] and results[0] == results[1]


async def test_the_store_shares_answers_between_processes_with_their_fetch_time() -> None:
    store, clock = MemoryStore(), Clock()
    first = Counting()
    await CachedProvider(first, store=store, clock=clock).quote("AAPL")
    # A second process (fresh memory) on the same store: no request while fresh...
    second = Counting()
    clock.now += 30
    await CachedProvider(second, store=store, clock=clock).quote("AAPL")
    assert second.calls == []
    # ...and a request again once the stored answer is older than the TTL.
    clock.now += 31
    await CachedProvider(second, store=store, clock=clock).quote("AAPL")
    assert second.calls == ["quote"]


async def test_a_sqlite_store_keeps_answers_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    inner = Counting()
    store = open_store(url)
    await store.open()
    try:
        await CachedProvider(inner, store=store).fundamentals("AAPL", "2016-06-30")
        await store.flush()
    finally:
        await store.close()
    store = open_store(url)
    await store.open()
    try:
        again = Counting()
        figures = await CachedProvider(again, store=store).fundamentals("AAPL", "2016-06-30")
        kept = await store.cache_get(NAMESPACE, cache_key("counting", "fundamentals", "AAPL",
                                                          "2016-06-30"))
    finally:
        await store.close()
    assert again.calls == [] and figures.period.startswith("FY2015")
    assert set(kept) == {"fetched_at", "value"}
