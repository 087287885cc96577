"""/metrics exports each provider's circuit breaker: its state and the calls it refused."""

from __future__ import annotations

import pytest
from _api_support import serving

from nodes.circuit import CircuitBoard, use_circuit_board
from nodes.llm import HttpRetryPolicy, LLMCircuitOpenError, LLMError, LLMRequest
from tests.nodes.llm.llm_fake_servers import FakeOpenAI, Scripted, make_provider
from tests.nodes.llm.llm_fake_servers import serving as serving_fake

DOWN = Scripted(status=503, body={"error": {"message": "overloaded", "type": "server_error"}})


async def test_metrics_export_circuit_state_and_fast_failures(anyio_backend: str) -> None:
    fake = FakeOpenAI([DOWN, DOWN])
    with use_circuit_board(CircuitBoard(failures=2, cooldown=60.0)):
        async with (serving_fake(fake) as url,
                    make_provider("openai", url, retry=HttpRetryPolicy(max_attempts=1)) as llm,
                    serving(anyio_backend) as client):
            text = (await (await client.get("/metrics")).get_data()).decode()
            assert "actorflow_circuit_state{" not in text   # no provider called yet
            for _ in range(2):
                with pytest.raises(LLMError):
                    await llm.complete(LLMRequest(prompt="hi"))
            for _ in range(3):
                with pytest.raises(LLMCircuitOpenError):
                    await llm.complete(LLMRequest(prompt="hi"))
            text = (await (await client.get("/metrics")).get_data()).decode()
    labels = f'endpoint="{url}/v1",provider="openai"'
    assert f"actorflow_circuit_state{{{labels}}} 2.0" in text
    assert f"actorflow_circuit_fast_failures_total{{{labels}}} 3.0" in text
