"""The shared HTTP transport: timeouts, connection errors, Retry-After parsing, event loops."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest
from llm_fake_servers import (
    FakeServer,
    Receive,
    Scope,
    Scripted,
    Send,
    listening_socket,
    make_provider,
    make_server,
    serving,
)

from nodes.llm import LLMError, LLMRequest, LLMTimeoutError, HttpRetryPolicy
from nodes.llm.http import HttpTransport, error_message_from_response, parse_retry_after

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])
KINDS = pytest.mark.parametrize("kind", ["gemini", "openai"])


@BACKENDS
@KINDS
def test_timeout_is_llm_timeout_error(backend: str, kind: str) -> None:
    async def main() -> None:
        server = make_server(kind, [Scripted(delay=3.0)])
        policy = HttpRetryPolicy(max_attempts=1)
        async with (
            serving(server) as url,
            make_provider(kind, url, timeout=0.2, retry=policy) as provider,
        ):
            start = anyio.current_time()
            with pytest.raises(LLMTimeoutError) as caught:
                await provider.complete(LLMRequest(prompt="slow"))
            elapsed = anyio.current_time() - start
        err = caught.value
        assert isinstance(err, LLMError)
        assert err.retryable is True
        assert err.status is None
        assert "0.2s" in str(err)
        assert elapsed < 2.5

    anyio.run(main, backend=backend)


@BACKENDS
def test_timeout_then_success_is_retried(backend: str) -> None:
    async def main() -> None:
        server = make_server("openai", [Scripted(delay=3.0)])
        async with serving(server) as url, make_provider("openai", url, timeout=0.3) as provider:
            response = await provider.complete(LLMRequest(prompt="eventually"))
        assert response.text == "echo: eventually"
        assert len(server.requests) == 2

    anyio.run(main, backend=backend)


class TrickleServer:
    """Sends a 200 and then one byte every 50 ms: each read is fast, the whole is not."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await FakeServer()(scope, receive, send)  # lifespan handling
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(200):
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            await anyio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"{}"})


@BACKENDS
def test_timeout_bounds_the_whole_attempt_not_each_read(backend: str) -> None:
    async def main() -> None:
        async with serving(TrickleServer()) as url:  # type: ignore[arg-type]
            transport = HttpTransport(
                provider="p", base_url=url, timeout=0.4, retry=HttpRetryPolicy(max_attempts=1)
            )
            async with transport:
                start = anyio.current_time()
                with pytest.raises(LLMTimeoutError):
                    await transport.post_json("/x", {})
                assert anyio.current_time() - start < 3

    anyio.run(main, backend=backend)


@BACKENDS
def test_connection_refused_is_retryable_llm_error_from_httpx(backend: str) -> None:
    # A bound but not listening socket: connecting to its port is refused.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def main() -> None:
        provider = make_provider(
            "gemini", f"http://127.0.0.1:{port}", retry=HttpRetryPolicy(max_attempts=2, base_delay=0.01)
        )
        async with provider:
            with pytest.raises(LLMError) as caught:
                await provider.complete(LLMRequest(prompt="x"))
        err = caught.value
        assert err.retryable is True
        assert err.status is None
        assert err.attempts == 2
        assert "cannot reach" in str(err)
        assert isinstance(err.__cause__, httpx.ConnectError)

    try:
        anyio.run(main, backend=backend)
    finally:
        sock.close()


@BACKENDS
def test_non_json_success_body_is_llm_error(backend: str) -> None:
    async def main() -> None:
        server = make_server("openai", [Scripted(200, b"<html>gateway</html>")])
        async with serving(server) as url, make_provider("openai", url) as provider:
            with pytest.raises(LLMError, match="not JSON") as caught:
                await provider.complete(LLMRequest(prompt="x"))
        assert caught.value.retryable is False
        assert isinstance(caught.value.__cause__, ValueError)

    anyio.run(main, backend=backend)


def test_provider_survives_a_second_event_loop_and_backend() -> None:
    """An owned client is per event loop: reuse across anyio.run calls must work.

    (Closing at the end of each loop is the clean pattern; a provider that is not
    closed still works in the next loop, it just leaves the old sockets to GC.)
    """
    sock = listening_socket()
    server = make_server("gemini")
    provider = make_provider("gemini", f"http://127.0.0.1:{sock.getsockname()[1]}")

    async def main() -> str:
        async with serving(server, sock):
            try:
                return (await provider.complete(LLMRequest(prompt="loop"))).text
            finally:
                await provider.aclose()

    try:
        assert anyio.run(main, backend="asyncio") == "echo: loop"
        assert anyio.run(main, backend="trio") == "echo: loop"
        assert anyio.run(main, backend="asyncio") == "echo: loop"
    finally:
        sock.close()
    assert len(server.requests) == 3


@BACKENDS
def test_concurrent_calls_share_one_provider(backend: str) -> None:
    async def main() -> None:
        server = make_server("openai")
        results: dict[int, str] = {}
        async with serving(server) as url, make_provider("openai", url) as provider:

            async def one(i: int) -> None:
                results[i] = (await provider.complete(LLMRequest(prompt=f"n{i}"))).text

            async with anyio.create_task_group() as tg:
                for i in range(10):
                    tg.start_soon(one, i)
        assert results == {i: f"echo: n{i}" for i in range(10)}

    anyio.run(main, backend=backend)


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    def parse(**headers: str) -> float | None:
        return parse_retry_after(httpx.Headers(headers), now=now)

    assert parse() is None
    assert parse(**{"retry-after": "5"}) == 5.0
    assert parse(**{"retry-after": " 0.25 "}) == 0.25
    assert parse(**{"retry-after": "-3"}) == 0.0
    assert parse(**{"retry-after": "soon"}) is None
    assert parse(**{"retry-after": "nan"}) is None
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse(**{"retry-after": later}) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse(**{"retry-after": earlier}) == 0.0
    assert parse(**{"retry-after-ms": "150", "retry-after": "9"}) == 0.15
    assert parse(**{"retry-after-ms": "junk", "retry-after": "9"}) == 9.0


def test_backoff_is_exponential_jittered_and_capped() -> None:
    import random

    policy = HttpRetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for n, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0), (1000, 8.0)]:
        delays = [policy.backoff(n, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    with pytest.raises(ValueError):
        HttpRetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}},
            "bad (INVALID_ARGUMENT)",
        ),
        ([{"error": {"code": 400, "message": "bad"}}], "bad"),
        (
            {"error": {"message": "nope", "type": "invalid_request_error"}},
            "nope (invalid_request_error)",
        ),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ({"detail": "Not Found"}, "Not Found"),
        ("plain text", "plain text"),
    ],
)
def test_error_message_from_response(body: Any, expected: str) -> None:
    if isinstance(body, str):
        response = httpx.Response(400, text=body)
    else:
        response = httpx.Response(400, json=body)
    assert error_message_from_response(response) == expected
    assert error_message_from_response(httpx.Response(502)) == "Bad Gateway"
