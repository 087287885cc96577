"""LLM responses cached in the run store: a new process answers from the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.llm import CachingProvider, LLMRequest, MemoryCache
from nodes.llm.store_cache import StoreCache, TieredCache
from runtime.store import open_store


class Counting:
    name = "counting"
    model = "m1"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: LLMRequest):  # type: ignore[no-untyped-def]
        from nodes.llm import LLMResponse, Usage

        self.calls += 1
        return LLMResponse(text=f"answer {self.calls}", model=self.model, provider=self.name,
                           usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
                           cost_usd=0.01, cached=False)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
async def test_a_response_cached_in_the_store_is_reused_after_a_restart(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'c.db'}"}.get(kind)
    if url is None:
        url = request.getfixturevalue("postgres_database")
    prompt = LLMRequest(prompt="summarize this")
    store = open_store(url)
    await store.open()
    try:
        first = Counting()
        provider = CachingProvider(first, TieredCache(MemoryCache(), StoreCache(store)))
        assert (await provider.complete(prompt)).text == "answer 1"
        await store.flush()
        if kind == "memory":
            again_store = store
        else:
            await store.close()
            again_store = store = open_store(url)  # a new process: nothing in memory
            await store.open()
        second = Counting()
        fresh = CachingProvider(second, TieredCache(MemoryCache(), StoreCache(again_store)))
        hit = await fresh.complete(prompt)
    finally:
        await store.close()
    assert hit.text == "answer 1" and hit.cached is True
    assert second.calls == 0
