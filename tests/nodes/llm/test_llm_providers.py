"""Gemini and OpenAI-compatible providers against fake servers speaking their wire formats.

Every test runs on asyncio and on trio (``anyio.run(..., backend=...)``), and
most run against both providers, since the transport behaviour is shared.
"""

from __future__ import annotations

import anyio
import pytest
from llm_fake_servers import (
    FakeGemini,
    FakeOpenAI,
    Scripted,
    make_provider,
    make_server,
    serving,
)

from nodes.llm import (
    DEFAULT_PRICES,
    GeminiProvider,
    LLMError,
    LLMProvider,
    LLMRequest,
    OpenAICompatProvider,
    HttpRetryPolicy,
)

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])
KINDS = pytest.mark.parametrize("kind", ["gemini", "openai"])


@BACKENDS
def test_gemini_success_wire_format_usage_and_cost(backend: str) -> None:
    async def main() -> None:
        server = FakeGemini()
        async with (
            serving(server) as url,
            GeminiProvider(api_key="test-key", base_url=url) as provider,
        ):
            assert isinstance(provider, LLMProvider)
            response = await provider.complete(
                LLMRequest(
                    prompt="Say hello to the world",
                    system="Be terse.",
                    max_tokens=64,
                    temperature=0.3,
                )
            )
        assert response.text == "echo: Say hello to the world"
        assert response.provider == "gemini"
        assert response.model == "gemini-2.0-flash"
        assert response.cached is False
        # prompt 5 words + system 2 words; answer 6 words
        assert response.usage.prompt_tokens == 7
        assert response.usage.completion_tokens == 6
        assert response.usage.total_tokens == 13
        assert response.cost_usd == pytest.approx((7 * 0.10 + 6 * 0.40) / 1e6)
        assert response.cost_usd > 0

        [request] = server.requests
        assert request.method == "POST"
        assert request.path == "/v1beta/models/gemini-2.0-flash:generateContent"
        assert request.headers["x-goog-api-key"] == "test-key"
        assert "key=" not in request.query  # the key never travels in the URL
        assert request.headers["content-type"] == "application/json"
        assert request.body == {
            "contents": [{"role": "user", "parts": [{"text": "Say hello to the world"}]}],
            "systemInstruction": {"parts": [{"text": "Be terse."}]},
            "generationConfig": {"maxOutputTokens": 64, "temperature": 0.3},
        }

    anyio.run(main, backend=backend)


@BACKENDS
def test_openai_success_wire_format_usage_and_cost(backend: str) -> None:
    async def main() -> None:
        server = FakeOpenAI()
        async with (
            serving(server) as url,
            OpenAICompatProvider(
                api_key="sk-test", base_url=url + "/v1", model="gpt-4o-mini"
            ) as provider,
        ):
            assert isinstance(provider, LLMProvider)
            response = await provider.complete(
                LLMRequest(prompt="two words", system="sys", max_tokens=10)
            )
        assert response.text == "echo: two words"
        assert (response.provider, response.model) == ("openai", "gpt-4o-mini")
        assert response.usage.prompt_tokens == 3
        assert response.usage.completion_tokens == 3
        assert response.usage.total_tokens == 6
        assert response.cost_usd == pytest.approx((3 * 0.15 + 3 * 0.60) / 1e6)

        [request] = server.requests
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-test"
        assert request.body == {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "two words"},
            ],
            "max_tokens": 10,
            "temperature": 0.0,
        }

    anyio.run(main, backend=backend)


@BACKENDS
def test_openai_compatible_without_key_sends_no_authorization(backend: str) -> None:
    """Ollama/vLLM style: no key, no Authorization header, unknown model costs 0."""

    async def main() -> None:
        server = FakeOpenAI(api_key=None)
        async with (
            serving(server) as url,
            OpenAICompatProvider(base_url=url + "/v1", model="llama3.2", name="ollama") as provider,
        ):
            response = await provider.complete(LLMRequest(prompt="hi"))
        assert "authorization" not in server.requests[0].headers
        assert "max_tokens" not in server.requests[0].body
        assert response.provider == "ollama"
        assert response.cost_usd == 0.0
        assert response.usage.total_tokens > 0

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_bad_credentials_fail_at_once_with_provider_message(backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(kind)
        async with serving(server) as url, make_provider(kind, url, api_key="wrong") as provider:
            with pytest.raises(LLMError) as caught:
                await provider.complete(LLMRequest(prompt="hi"))
        err = caught.value
        assert len(server.requests) == 1  # non-retryable: no second attempt
        assert err.retryable is False
        assert err.provider == kind
        expected = {"gemini": (400, "API key not valid"), "openai": (401, "Incorrect API key")}
        status, message = expected[kind]
        assert err.status == status
        assert message in str(err)
        assert err.attempts == 1

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_400_error_body_is_non_retryable_with_message(backend: str, kind: str) -> None:
    body = (
        FakeGemini.error(
            400, "* GenerateContentRequest.contents: contents is not specified", "INVALID_ARGUMENT"
        )
        if kind == "gemini"
        else FakeOpenAI.error("max_tokens is too large: 999999.", "invalid_request_error")
    )
    message = "contents is not specified" if kind == "gemini" else "max_tokens is too large"

    async def main() -> None:
        server = make_server(kind, [Scripted(400, body)])
        async with serving(server) as url, make_provider(kind, url) as provider:
            with pytest.raises(LLMError) as caught:
                await provider.complete(LLMRequest(prompt="hi"))
        assert len(server.requests) == 1
        assert caught.value.status == 400
        assert caught.value.retryable is False
        assert message in caught.value.reason

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_429_with_retry_after_then_success(backend: str, kind: str) -> None:
    async def main() -> None:
        limited = Scripted(
            429,
            {
                "error": {
                    "code": 429,
                    "message": "Resource exhausted",
                    "status": "RESOURCE_EXHAUSTED",
                }
            },
            headers={"retry-after": "0.3"},
        )
        server = make_server(kind, [limited])
        # base_delay is large: a fast retry proves Retry-After replaced the backoff
        policy = HttpRetryPolicy(max_attempts=3, base_delay=10, max_delay=10)
        async with serving(server) as url, make_provider(kind, url, retry=policy) as provider:
            start = anyio.current_time()
            response = await provider.complete(LLMRequest(prompt="ping"))
            elapsed = anyio.current_time() - start
        assert response.text == "echo: ping"
        assert len(server.requests) == 2
        gap = server.requests[1].at - server.requests[0].at
        assert gap >= 0.25  # waited ~Retry-After...
        assert elapsed < 5  # ...and not the 5-10 s backoff

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_huge_retry_after_is_capped(backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(
            kind, [Scripted(503, {"error": "overloaded"}, {"retry-after": "3600"})]
        )
        policy = HttpRetryPolicy(max_attempts=2, base_delay=0.01, max_retry_after=0.05)
        async with serving(server) as url, make_provider(kind, url, retry=policy) as provider:
            with anyio.fail_after(5):
                response = await provider.complete(LLMRequest(prompt="x"))
        assert response.text == "echo: x"
        assert len(server.requests) == 2

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_500_twice_then_success(backend: str, kind: str) -> None:
    async def main() -> None:
        boom = Scripted(500, {"error": {"message": "internal", "status": "INTERNAL"}})
        server = make_server(kind, [boom, boom])
        async with (
            serving(server) as url,
            make_provider(kind, url) as provider,
        ):  # 3 attempts, ~10 ms backoff
            response = await provider.complete(LLMRequest(prompt="again"))
        assert response.text == "echo: again"
        assert len(server.requests) == 3
        assert server.requests[0].body == server.requests[2].body  # same request resent

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_retries_exhausted_is_retryable_error_with_status(backend: str, kind: str) -> None:
    async def main() -> None:
        unavailable = Scripted(503, {"error": {"message": "The model is overloaded."}})
        server = make_server(kind, [unavailable] * 3)
        async with serving(server) as url, make_provider(kind, url) as provider:
            with pytest.raises(LLMError) as caught:
                await provider.complete(LLMRequest(prompt="x"))
        err = caught.value
        assert len(server.requests) == 3
        assert err.retryable is True
        assert err.status == 503
        assert err.attempts == 3
        assert "The model is overloaded." in str(err)
        assert "3 attempts" in str(err)

    anyio.run(main, backend=backend)


@BACKENDS
def test_gemini_blocked_prompt_is_non_retryable(backend: str) -> None:
    async def main() -> None:
        blocked = Scripted(200, {"promptFeedback": {"blockReason": "SAFETY"}})
        server = FakeGemini([blocked])
        async with serving(server) as url, make_provider("gemini", url) as provider:
            with pytest.raises(LLMError, match="SAFETY") as caught:
                await provider.complete(LLMRequest(prompt="x"))
        assert caught.value.retryable is False
        assert len(server.requests) == 1

    anyio.run(main, backend=backend)


def test_gemini_parse_joins_parts_skips_thoughts_and_counts_thinking_tokens() -> None:
    provider = GeminiProvider(api_key="k", model="models/gemini-2.5-flash")
    assert provider.model == "gemini-2.5-flash"
    response = provider.parse_response(
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "plan...", "thought": True},
                            {"text": "a"},
                            {"text": "b"},
                        ]
                    }
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 2,
                "thoughtsTokenCount": 5,
                "totalTokenCount": 17,
            },
        }
    )
    assert response.text == "ab"
    assert response.usage.completion_tokens == 7
    assert response.usage.total_tokens == 17
    assert response.cost_usd == pytest.approx(
        DEFAULT_PRICES.cost_usd("gemini-2.5-flash", response.usage)
    )


def test_openai_parse_refusal_and_missing_usage() -> None:
    provider = OpenAICompatProvider(model="m")
    with pytest.raises(LLMError, match="refused: no"):
        provider.parse_response(
            {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "no"}}]}
        )
    response = provider.parse_response({"choices": [{"message": {"content": "ok"}}]})
    assert response.text == "ok"
    assert response.usage.total_tokens == 0
    assert response.model == "m"
