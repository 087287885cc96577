"""How nodes get their LLM provider: built from the environment once, replaceable."""

from __future__ import annotations

import pytest

from nodes import llm_node
from nodes.llm import CachingProvider, OfflineProvider, Usage
from nodes.llm.base import LLMResponse
from nodes.llm_node import get_provider, set_provider, usage_record, usage_totals, use_provider


def test_default_provider_is_the_offline_one_behind_a_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACTORFLOW_LLM_PROVIDER", raising=False)
    monkeypatch.setattr(llm_node._current, "value", None)
    provider = get_provider()
    assert isinstance(provider, CachingProvider)
    assert isinstance(provider.provider, OfflineProvider)
    assert get_provider() is provider  # process-wide: built once


def test_use_provider_restores_the_previous_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_node._current, "value", None)
    before = get_provider()
    injected = OfflineProvider(name="injected")
    with use_provider(injected):
        assert get_provider() is injected
    assert get_provider() is before
    set_provider(injected)
    assert get_provider() is injected


def test_usage_records_sum_tokens_and_cost() -> None:
    response = LLMResponse(text="x", model="m", provider="p", cost_usd=0.5,
                           usage=Usage(prompt_tokens=3, completion_tokens=4))
    record = usage_record(response, node="n", purpose="revise")
    assert record["total_tokens"] == 7 and record["cached"] is False
    totals = usage_totals([record, record])
    assert totals == {"calls": 2, "cached_calls": 0, "prompt_tokens": 6,
                      "completion_tokens": 8, "total_tokens": 14, "cost_usd": 1.0}
