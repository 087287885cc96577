"""provider_from_env and the price table."""

from __future__ import annotations

import pytest

from nodes.llm import (
    DEFAULT_PRICES,
    GeminiProvider,
    LLMConfigError,
    LLMError,
    ModelPrice,
    OfflineProvider,
    OpenAICompatProvider,
    PriceTable,
    Usage,
    provider_from_env,
)


def test_default_is_offline() -> None:
    assert isinstance(provider_from_env({}), OfflineProvider)
    assert isinstance(provider_from_env({"ACTORFLOW_LLM_PROVIDER": " Offline "}), OfflineProvider)
    assert isinstance(provider_from_env({"ACTORFLOW_LLM_PROVIDER": ""}), OfflineProvider)


def test_gemini_from_env() -> None:
    provider = provider_from_env(
        {
            "ACTORFLOW_LLM_PROVIDER": "gemini",
            "GEMINI_API_KEY": "k",
            "ACTORFLOW_GEMINI_MODEL": "gemini-2.5-pro",
            "ACTORFLOW_GEMINI_BASE_URL": "http://127.0.0.1:9999/",
            "ACTORFLOW_LLM_TIMEOUT": "12.5",
            "ACTORFLOW_LLM_MAX_RETRIES": "0",
        }
    )
    assert isinstance(provider, GeminiProvider)
    assert provider.model == "gemini-2.5-pro"
    assert provider.transport.base_url == "http://127.0.0.1:9999"
    assert provider.transport.timeout == 12.5
    assert provider.transport.retry.max_attempts == 1


def test_gemini_defaults() -> None:
    provider = provider_from_env({"ACTORFLOW_LLM_PROVIDER": "gemini", "GEMINI_API_KEY": "k"})
    assert isinstance(provider, GeminiProvider)
    assert provider.model == "gemini-2.0-flash"
    assert provider.transport.base_url == "https://generativelanguage.googleapis.com"
    assert provider.transport.retry.max_attempts == 3


@pytest.mark.parametrize("key", [None, "", "   "])
def test_gemini_missing_key_names_the_variable(key: str | None) -> None:
    env = {"ACTORFLOW_LLM_PROVIDER": "gemini"}
    if key is not None:
        env["GEMINI_API_KEY"] = key
    with pytest.raises(LLMConfigError) as caught:
        provider_from_env(env)
    assert caught.value.variable == "GEMINI_API_KEY"
    assert "GEMINI_API_KEY" in str(caught.value)
    assert isinstance(caught.value, LLMError) and isinstance(caught.value, ValueError)
    assert caught.value.retryable is False


def test_openai_needs_key_only_for_openai_itself() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY") as caught:
        provider_from_env({"ACTORFLOW_LLM_PROVIDER": "openai"})
    assert caught.value.variable == "OPENAI_API_KEY"

    local = provider_from_env(
        {
            "ACTORFLOW_LLM_PROVIDER": "openai",
            "ACTORFLOW_OPENAI_BASE_URL": "http://localhost:11434/v1",
            "ACTORFLOW_OPENAI_MODEL": "llama3.2",
        }
    )
    assert isinstance(local, OpenAICompatProvider)
    assert local.model == "llama3.2"
    assert local.transport.base_url == "http://localhost:11434/v1"

    hosted = provider_from_env({"ACTORFLOW_LLM_PROVIDER": "OPENAI", "OPENAI_API_KEY": "sk"})
    assert isinstance(hosted, OpenAICompatProvider)
    assert hosted.model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ACTORFLOW_LLM_PROVIDER": "claude"}, "ACTORFLOW_LLM_PROVIDER"),
        ({"ACTORFLOW_LLM_TIMEOUT": "soon"}, "ACTORFLOW_LLM_TIMEOUT"),
        ({"ACTORFLOW_LLM_TIMEOUT": "0"}, "ACTORFLOW_LLM_TIMEOUT"),
        ({"ACTORFLOW_LLM_TIMEOUT": "inf"}, "ACTORFLOW_LLM_TIMEOUT"),
        ({"ACTORFLOW_LLM_MAX_RETRIES": "-1"}, "ACTORFLOW_LLM_MAX_RETRIES"),
        ({"ACTORFLOW_LLM_MAX_RETRIES": "two"}, "ACTORFLOW_LLM_MAX_RETRIES"),
        ({"ACTORFLOW_GEMINI_BASE_URL": "localhost:8080"}, "ACTORFLOW_GEMINI_BASE_URL"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    full = {"ACTORFLOW_LLM_PROVIDER": "gemini", "GEMINI_API_KEY": "k", **env}
    with pytest.raises(LLMConfigError) as caught:
        provider_from_env(full)
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_price_lookup_exact_prefix_and_unknown() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    assert DEFAULT_PRICES.cost_usd("gpt-4o", usage) == pytest.approx(12.50)
    # dated versions resolve to the longest matching family
    assert DEFAULT_PRICES.cost_usd("gpt-4o-mini-2024-07-18", usage) == pytest.approx(0.75)
    assert DEFAULT_PRICES.cost_usd("models/gemini-2.0-flash-001", usage) == pytest.approx(0.50)
    assert DEFAULT_PRICES.cost_usd("gemini-2.0-flash-lite", usage) == pytest.approx(0.375)
    # prefixes only match at a "-" boundary; unknown models are free, never an error
    assert DEFAULT_PRICES.lookup("gpt-4oX") is None
    assert DEFAULT_PRICES.cost_usd("llama3.2", usage) == 0.0
    assert "gpt-4.1-nano" in DEFAULT_PRICES and "llama3.2" not in DEFAULT_PRICES


def test_price_overrides_do_not_mutate_defaults() -> None:
    usage = Usage(prompt_tokens=2_000_000, completion_tokens=0)
    custom = DEFAULT_PRICES.with_overrides(
        {"llama3.2": ModelPrice(1.0, 2.0), "gpt-4o": ModelPrice(0, 0)}
    )
    assert custom.cost_usd("llama3.2", usage) == pytest.approx(2.0)
    assert custom.cost_usd("gpt-4o", usage) == 0.0
    assert DEFAULT_PRICES.cost_usd("gpt-4o", usage) == pytest.approx(5.0)
    assert DEFAULT_PRICES.lookup("llama3.2") is None
    fallback = PriceTable({}, default=ModelPrice(1.0, 1.0))
    assert fallback.cost_usd("anything", usage) == pytest.approx(2.0)


def test_usage_total_is_derived_when_missing() -> None:
    assert Usage(prompt_tokens=3, completion_tokens=4).total_tokens == 7
    assert Usage(prompt_tokens=3, completion_tokens=4, total_tokens=9).total_tokens == 9


def test_llm_errors_pickle_round_trip() -> None:
    import pickle

    from nodes.llm import LLMTimeoutError

    for error in [
        LLMError("HTTP 503: busy", provider="gemini", status=503, retryable=True, attempts=3),
        LLMTimeoutError("slow", provider="openai", retryable=True),
        LLMConfigError("X is not set", provider="gemini", variable="X"),
    ]:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.__dict__ == error.__dict__
