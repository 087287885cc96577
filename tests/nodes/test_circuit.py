"""Circuit breakers of the LLM and market-data providers, against fake providers on loopback.

The breaker's clock is injected (:class:`ManualClock`): a cool-down passes when a test says
so, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from nodes.circuit import CircuitBoard, CircuitState, use_circuit_board
from nodes.finance import FinnhubProvider, MarketCircuitOpen, MarketDataError
from nodes.llm import HttpRetryPolicy, LLMCircuitOpenError, LLMError, LLMRequest
from tests.nodes.finance.finance_fake_servers import FINNHUB_KEY, FakeFinnhub
from tests.nodes.llm.llm_fake_servers import FakeOpenAI, Scripted, make_provider, serving

ONCE = HttpRetryPolicy(max_attempts=1)
DOWN = Scripted(status=503, body={"error": {"message": "overloaded", "type": "server_error"}})


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def board(clock: ManualClock) -> Iterator[CircuitBoard]:
    with use_circuit_board(CircuitBoard(failures=3, cooldown=30.0, clock=clock)) as b:
        yield b


def ask() -> LLMRequest:
    return LLMRequest(prompt="hello")


async def test_llm_breaker_opens_after_consecutive_failures_and_fails_fast_naming_provider(
        board: CircuitBoard) -> None:
    fake = FakeOpenAI([DOWN] * 3)
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(3):
            with pytest.raises(LLMError) as failed:
                await provider.complete(ask())
            assert not isinstance(failed.value, LLMCircuitOpenError)
        with pytest.raises(LLMCircuitOpenError) as refused:
            await provider.complete(ask())
    assert len(fake.requests) == 3          # the refused call never reached the provider
    message = str(refused.value)
    assert "openai" in message and url in message
    assert "3 times in a row" in message and "overloaded" in message
    assert "fail fast until" in message and "UTC" in message
    assert "ACTORFLOW_CIRCUIT_COOLDOWN" in message
    [breaker] = board.breakers()
    assert breaker.state is CircuitState.OPEN and breaker.fast_failures == 1


async def test_llm_breaker_half_open_probe_that_succeeds_closes_it(
        board: CircuitBoard, clock: ManualClock) -> None:
    fake = FakeOpenAI([DOWN] * 3)
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(3):
            with pytest.raises(LLMError):
                await provider.complete(ask())
        clock.now += 30.0                    # the cool-down is over
        answer = await provider.complete(ask())   # the probe; the fake is healthy again
        assert answer.text
        [breaker] = board.breakers()
        assert breaker.state is CircuitState.CLOSED
        await provider.complete(ask())
    assert len(fake.requests) == 5


async def test_llm_breaker_probe_that_fails_opens_it_for_another_cooldown(
        board: CircuitBoard, clock: ManualClock) -> None:
    fake = FakeOpenAI([DOWN] * 4)
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(3):
            with pytest.raises(LLMError):
                await provider.complete(ask())
        clock.now += 30.0
        with pytest.raises(LLMError) as probe:
            await provider.complete(ask())
        assert not isinstance(probe.value, LLMCircuitOpenError)   # it was sent
        with pytest.raises(LLMCircuitOpenError):
            await provider.complete(ask())
    assert len(fake.requests) == 4


async def test_llm_breaker_lets_one_probe_through_and_refuses_others_meanwhile(
        board: CircuitBoard, clock: ManualClock) -> None:
    fake = FakeOpenAI([DOWN] * 3)
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(3):
            with pytest.raises(LLMError):
                await provider.complete(ask())
        clock.now += 30.0
        fake.script.append(Scripted(delay=1.0))   # the probe is slow to answer
        probed = anyio.Event()

        async def probe() -> None:
            await provider.complete(ask())
            probed.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(probe)
            while len(fake.requests) < 4:        # the probe reached the provider
                await anyio.sleep(0.01)
            with pytest.raises(LLMCircuitOpenError) as refused:
                await provider.complete(ask())
            assert "probe call is in flight" in str(refused.value)
        assert probed.is_set()
    [breaker] = board.breakers()
    assert breaker.state is CircuitState.CLOSED


async def test_llm_errors_that_prove_the_provider_is_up_do_not_open_it(
        board: CircuitBoard) -> None:
    bad_request = Scripted(status=400, body={"error": {"message": "bad model",
                                                       "type": "invalid_request_error"}})
    fake = FakeOpenAI([DOWN, DOWN, bad_request, DOWN, DOWN])
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(5):
            with pytest.raises(LLMError) as failed:
                await provider.complete(ask())
            assert not isinstance(failed.value, LLMCircuitOpenError)
    [breaker] = board.breakers()
    assert breaker.state is CircuitState.CLOSED and breaker.failures == 2


async def test_llm_streaming_calls_go_through_the_breaker(board: CircuitBoard) -> None:
    fake = FakeOpenAI([DOWN] * 3)
    async with serving(fake) as url, make_provider("openai", url, retry=ONCE) as provider:
        for _ in range(3):
            with pytest.raises(LLMError):
                await provider.stream(ask(), lambda _text: None)  # type: ignore[attr-defined]
        with pytest.raises(LLMCircuitOpenError):
            await provider.stream(ask(), lambda _text: None)  # type: ignore[attr-defined]
    assert len(fake.requests) == 3


def finnhub(url: str) -> FinnhubProvider:
    return FinnhubProvider(api_key=FINNHUB_KEY, base_url=url + "/api/v1", retry=ONCE, timeout=5)


async def test_market_breaker_opens_fails_fast_and_recovers_after_a_probe(
        board: CircuitBoard, clock: ManualClock) -> None:
    fake = FakeFinnhub()
    fake.failing["/quote"] = (502, {"error": "bad gateway"})
    async with serving(fake) as url:
        provider = finnhub(url)
        try:
            for _ in range(3):
                with pytest.raises(MarketDataError) as failed:
                    await provider.quote("AAPL")
                assert not isinstance(failed.value, MarketCircuitOpen)
            with pytest.raises(MarketCircuitOpen) as refused:
                await provider.quote("AAPL")
            assert "finnhub" in str(refused.value) and "bad gateway" in str(refused.value)
            assert len(fake.requests) == 3
            del fake.failing["/quote"]
            clock.now += 30.0
            quote = await provider.quote("AAPL")
            assert quote.price > 0
            [breaker] = board.breakers()
            assert breaker.state is CircuitState.CLOSED
        finally:
            await provider.aclose()


def test_board_from_env_refuses_a_bad_setting_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTORFLOW_CIRCUIT_FAILURES", "lots")
    with pytest.raises(ValueError, match="ACTORFLOW_CIRCUIT_FAILURES='lots'"):
        CircuitBoard.from_env()
    monkeypatch.setenv("ACTORFLOW_CIRCUIT_FAILURES", "2")
    monkeypatch.setenv("ACTORFLOW_CIRCUIT_COOLDOWN", "0.5")
    board = CircuitBoard.from_env()
    assert (board.failures, board.cooldown) == (2, 0.5)
