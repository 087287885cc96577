"""Streaming answers (server-sent events) from Gemini and OpenAI-compatible servers,
against fakes speaking each provider's documented stream format."""

from __future__ import annotations

import anyio
import pytest
from llm_fake_servers import Scripted, make_provider, make_server, serving

from nodes.llm import (
    CachingProvider,
    LLMError,
    LLMRequest,
    OfflineProvider,
    StreamingProvider,
    stream_or_complete,
)

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])
KINDS = pytest.mark.parametrize("kind", ["gemini", "openai"])


@BACKENDS
@KINDS
def test_a_stream_hands_over_every_piece_in_order_and_the_whole_answer(
        backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(kind)
        pieces: list[str] = []
        async with serving(server) as url, make_provider(kind, url) as provider:
            assert isinstance(provider, StreamingProvider)
            response = await provider.stream(LLMRequest(prompt="one two three four"),
                                              pieces.append)
        assert pieces == ["echo: ", "one ", "two ", "three ", "four"]
        assert response.text == "echo: one two three four"
        assert response.usage.prompt_tokens == 4 and response.usage.completion_tokens == 5
        [request] = server.requests
        if kind == "gemini":
            assert request.path.endswith(":streamGenerateContent")
            assert request.query == "alt=sse"
        else:
            assert request.body["stream"] is True
            assert request.body["stream_options"] == {"include_usage": True}

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
@pytest.mark.parametrize("cleanly", [False, True], ids=["reset", "ended-early"])
def test_a_stream_cut_off_half_way_is_a_clear_retryable_error(
        backend: str, kind: str, cleanly: bool) -> None:
    async def main() -> None:
        server = make_server(kind, [Scripted(cut_after=2, cut_cleanly=cleanly)])
        pieces: list[str] = []
        async with serving(server) as url, make_provider(kind, url) as provider:
            with pytest.raises(LLMError) as info:
                await provider.stream(LLMRequest(prompt="one two three four"), pieces.append)
        err = info.value
        assert err.retryable
        assert ("broke off" in str(err)) if not cleanly else ("cut off" in str(err))
        # The pieces before the cut were handed over; nothing was retried behind the
        # caller's back (it already has them).
        assert len(server.requests) == 1
        assert 0 < len(pieces) <= 2

    anyio.run(main, backend=backend)


@BACKENDS
@KINDS
def test_a_stream_refused_before_it_starts_is_retried(backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(kind, [Scripted(status=503, body={"error": "busy"})])
        pieces: list[str] = []
        async with serving(server) as url, make_provider(kind, url) as provider:
            response = await provider.stream(LLMRequest(prompt="hi"), pieces.append)
        assert "".join(pieces) == response.text == "echo: hi"
        assert len(server.requests) == 2

    anyio.run(main, backend=backend)


@BACKENDS
def test_offline_and_cached_answers_stream_too(backend: str) -> None:
    async def main() -> None:
        provider = CachingProvider(OfflineProvider())
        request = LLMRequest(prompt="Streams are useful. Tokens arrive one by one.")
        first: list[str] = []
        response = await stream_or_complete(provider, request, first.append)
        assert len(first) > 1 and "".join(first) == response.text
        again: list[str] = []
        cached = await stream_or_complete(provider, request, again.append)
        assert cached.cached and again == [response.text]

    anyio.run(main, backend=backend)
