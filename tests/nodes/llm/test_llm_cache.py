"""Response caching: keys, LRU bound, and CachingProvider against a real fake server."""

from __future__ import annotations

import anyio
import pytest
from llm_fake_servers import make_provider, make_server, serving

from nodes.llm import (
    CachingProvider,
    LLMError,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    MemoryCache,
    OfflineProvider,
    ResponseCache,
    cache_key,
)

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])


@BACKENDS
@pytest.mark.parametrize("kind", ["gemini", "openai"])
def test_cache_hit_does_not_reach_the_server(backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(kind)
        cache = MemoryCache(maxsize=8)
        async with serving(server) as url, make_provider(kind, url) as inner:
            provider = CachingProvider(inner, cache)
            assert isinstance(provider, LLMProvider)
            assert (provider.name, provider.model) == (inner.name, inner.model)
            request = LLMRequest(prompt="cache me", system="s", max_tokens=5)
            first = await provider.complete(request)
            second = await provider.complete(request)
            assert len(server.requests) == 1  # the hit never reached the server
            assert first.cached is False and second.cached is True
            assert second.text == first.text
            assert second.usage == first.usage
            assert first.cost_usd > 0 and second.cost_usd == 0.0
            # any part of the key changing is a miss
            await provider.complete(request.model_copy(update={"temperature": 0.5}))
            await provider.complete(request.model_copy(update={"system": None}))
            await provider.complete(request.model_copy(update={"max_tokens": 6}))
            assert len(server.requests) == 4
        assert (cache.hits, cache.misses) == (1, 4)

    anyio.run(main, backend=backend)


@BACKENDS
def test_errors_are_not_cached(backend: str) -> None:
    class Flaky:
        name = "flaky"
        model = "m"
        calls = 0

        async def complete(self, request: LLMRequest) -> LLMResponse:
            self.calls += 1
            if self.calls == 1:
                raise LLMError("boom", provider="flaky", retryable=True)
            return LLMResponse(text="ok", model="m", provider="flaky")

    async def main() -> None:
        inner = Flaky()
        provider = CachingProvider(inner)
        with pytest.raises(LLMError):
            await provider.complete(LLMRequest(prompt="x"))
        assert (await provider.complete(LLMRequest(prompt="x"))).text == "ok"
        assert (await provider.complete(LLMRequest(prompt="x"))).cached is True
        assert inner.calls == 2

    anyio.run(main, backend=backend)


def test_memory_cache_is_bounded_lru() -> None:
    async def main() -> None:
        cache = MemoryCache(maxsize=2)
        assert isinstance(cache, ResponseCache)
        r = {k: LLMResponse(text=k, model="m", provider="p") for k in "abc"}
        await cache.set("a", r["a"])
        await cache.set("b", r["b"])
        assert await cache.get("a") == r["a"]  # touch a: b is now least recent
        await cache.set("c", r["c"])
        assert len(cache) == 2
        assert await cache.get("b") is None
        assert await cache.get("a") == r["a"]
        assert await cache.get("c") == r["c"]

    anyio.run(main, backend="trio")
    with pytest.raises(ValueError):
        MemoryCache(maxsize=0)


def test_cache_key_is_unambiguous_and_complete() -> None:
    base = LLMRequest(prompt="p", system="s", max_tokens=1, temperature=0.0)
    key = cache_key("prov", "model", base)
    assert len(key) == 64 and key == cache_key("prov", "model", base)
    variants = [
        cache_key("prov2", "model", base),
        cache_key("prov", "model2", base),
        cache_key("prov", "model", base.model_copy(update={"prompt": "q"})),
        cache_key("prov", "model", base.model_copy(update={"system": None})),
        cache_key("prov", "model", base.model_copy(update={"max_tokens": None})),
        cache_key("prov", "model", base.model_copy(update={"temperature": 0.1})),
        # concatenation ambiguity: "s"+"p" vs ""+"sp"
        cache_key("prov", "model", base.model_copy(update={"system": "", "prompt": "sp"})),
    ]
    assert len({key, *variants}) == len(variants) + 1


def test_caching_offline_provider() -> None:
    async def main() -> None:
        provider = CachingProvider(OfflineProvider())
        a = await provider.complete(LLMRequest(prompt="Hello there. General Kenobi."))
        b = await provider.complete(LLMRequest(prompt="Hello there. General Kenobi."))
        assert (a.cached, b.cached) == (False, True)
        assert a.text == b.text

    anyio.run(main, backend="asyncio")
