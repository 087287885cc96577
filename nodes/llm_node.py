"""How graph nodes reach a language model, and how each call is accounted for.

Nodes never build providers. They call :func:`ask_llm` (not :func:`runtime.ask`, which asks a
person), which sends the request
to the process-wide provider and returns the answer together with a usage
record (tokens, cost, provider, model, cache hit) that the node writes into
the run's state (``data.llm_usage``, an append-reduced list) and that is also
published as a ``log`` event in the run's event stream.

The process-wide provider is built on first use from the environment
(:func:`nodes.llm.provider_from_env`, offline unless configured) and wrapped in
a :class:`~nodes.llm.CachingProvider` with a :class:`~nodes.llm.MemoryCache`.
Embedding applications and tests replace it::

    with use_provider(my_provider):
        ...  # runs started here ask my_provider
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from nodes.llm import (
    CachingProvider,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    MemoryCache,
    ResponseCache,
    provider_from_env,
    stream_or_complete,
)
from nodes.llm.store_cache import StoreCache, TieredCache
from nodes.slot import Slot
from runtime import NodeContext, Store

__all__ = ["ask_llm", "get_provider", "set_provider", "usage_record", "usage_totals", "use_provider",
           "use_store_cache"]

_current: Slot[LLMProvider] = Slot()
_store: Store | None = None


def use_store_cache(store: Store | None) -> None:
    """Cache LLM responses in ``store`` too (behind the in-memory cache), so they
    survive restarts; the server and the CLI call this with their runtime's store.
    Applies to the provider built from the environment (now or on first use)."""
    global _store
    _store = store
    provider = _current.value
    if isinstance(provider, CachingProvider) and provider.cache is not None:
        provider.cache = _cache()


def _cache() -> ResponseCache:
    memory = MemoryCache()
    return memory if _store is None else TieredCache(memory, StoreCache(_store))


def get_provider() -> LLMProvider:
    """The provider nodes use; built from the environment on first call.

    Raises:
        LLMConfigError: if the environment names a provider it does not configure fully.
    """
    if _current.value is None:
        _current.value = CachingProvider(provider_from_env(), _cache())
    return _current.value


def set_provider(provider: LLMProvider | None) -> None:
    """Use ``provider`` as is (wrap it in CachingProvider yourself if wanted);
    ``None`` goes back to building one from the environment on next use."""
    _current.value = provider


def use_provider(provider: LLMProvider) -> AbstractContextManager[LLMProvider]:
    """Use ``provider`` inside the block, then restore the previous one."""
    return _current.holding(provider)


def usage_record(response: LLMResponse, *, node: str, purpose: str) -> dict[str, Any]:
    """The JSON-ready accounting entry for one call."""
    return {
        "node": node,
        "purpose": purpose,
        "provider": response.provider,
        "model": response.model,
        "prompt_tokens": response.usage.prompt_tokens,
        "completion_tokens": response.usage.completion_tokens,
        "total_tokens": response.usage.total_tokens,
        "cost_usd": response.cost_usd,
        "cached": response.cached,
    }


def usage_totals(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum of a run's usage records: calls, tokens and cost."""
    return {
        "calls": len(records),
        "cached_calls": sum(1 for r in records if r.get("cached")),
        "prompt_tokens": sum(int(r.get("prompt_tokens", 0)) for r in records),
        "completion_tokens": sum(int(r.get("completion_tokens", 0)) for r in records),
        "total_tokens": sum(int(r.get("total_tokens", 0)) for r in records),
        "cost_usd": round(sum(float(r.get("cost_usd", 0.0)) for r in records), 10),
    }


async def ask_llm(
    ctx: NodeContext, request: LLMRequest, *, purpose: str, stream: bool = False
) -> tuple[LLMResponse, dict[str, Any]]:
    """Send ``request`` to the current provider; log and return ``(response, usage record)``.

    With ``stream=True`` the answer is also published as it is written, as live
    ``token`` events of this node (one call id per call: :meth:`NodeContext.new_call`);
    a stream cut off half way raises ``LLMError`` and the node's retry policy applies
    (the retry streams under a new call id).

    Raises:
        LLMError: when the provider fails (after its own retries).
    """
    provider = get_provider()
    if stream:
        call_id = ctx.new_call()
        count = 0

        def on_token(text: str) -> None:
            nonlocal count
            ctx.token(call_id, text, count)
            count += 1

        response = await stream_or_complete(provider, request, on_token)
    else:
        response = await provider.complete(request)
    record = usage_record(response, node=ctx.node, purpose=purpose)
    ctx.log(
        f"llm {purpose}: {record['total_tokens']} tokens, ${record['cost_usd']:.6f}"
        f"{' (cached)' if response.cached else ''} from {response.provider}/{response.model}",
        llm=record,
    )
    return response, record
