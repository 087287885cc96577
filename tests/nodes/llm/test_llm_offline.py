"""The deterministic offline provider."""

from __future__ import annotations

import anyio
import pytest

from nodes.llm import LLMProvider, LLMRequest, LLMResponse, OfflineProvider
from nodes.llm.offline import extractive_answer

BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])

ARTICLE = """Summarize the following article:

The Rhine is a major European river. The Rhine flows from the Swiss Alps to the North Sea.
Many cities lie on the Rhine, and the Rhine carries heavy barge traffic between them.
It was sunny yesterday. Cologne and Basel are important ports on the Rhine.
"""


def complete(request: LLMRequest, backend: str = "asyncio") -> LLMResponse:
    async def main() -> LLMResponse:
        return await OfflineProvider().complete(request)

    return anyio.run(main, backend=backend)


@BACKENDS
def test_offline_is_deterministic_across_calls_and_backends(backend: str) -> None:
    request = LLMRequest(prompt=ARTICLE, max_tokens=40)
    first = complete(request, backend)
    assert first == complete(request, "asyncio") == complete(request, "trio")
    assert first.provider == "offline"
    assert first.cost_usd == 0.0
    assert first.cached is False
    assert isinstance(OfflineProvider(), LLMProvider)


def test_offline_extracts_informative_sentences_within_budget() -> None:
    response = complete(LLMRequest(prompt=ARTICLE, max_tokens=30))
    assert len(response.text) <= 30 * 4
    assert "Rhine" in response.text
    assert "sunny" not in response.text  # the off-topic sentence loses
    assert "Summarize" not in response.text  # the instruction line is not echoed
    # golden output: the best sentences, in their original order
    assert response.text == (
        "The Rhine flows from the Swiss Alps to the North Sea. "
        "Cologne and Basel are important ports on the Rhine."
    )
    roomier = complete(LLMRequest(prompt=ARTICLE, max_tokens=60)).text
    assert roomier.startswith("The Rhine is a major European river. The Rhine flows")
    assert "sunny" not in roomier


def test_offline_token_counts_are_words() -> None:
    response = complete(LLMRequest(prompt="one two three", system="four five"))
    assert response.usage.prompt_tokens == 5
    assert response.usage.completion_tokens == len(response.text.split())
    assert response.usage.total_tokens == 5 + response.usage.completion_tokens
    assert response.text == "one two three"


def test_offline_code_revision_returns_code_unchanged() -> None:
    code = "```python\ndef add(a, b):\n    return a - b\n```"
    prompt = f"Please fix the bug in this function.\n\n{code}\n\nExplain briefly."
    response = complete(LLMRequest(prompt=prompt, max_tokens=5))
    assert response.text == code  # whole block, fences included, never truncated


def test_offline_edge_cases() -> None:
    assert complete(LLMRequest(prompt="")).text == ""
    long_sentence = "word " * 500
    text = complete(LLMRequest(prompt=long_sentence, max_tokens=10)).text
    assert 0 < len(text) <= 40
    assert extractive_answer("A b c. D e f.", 0) == ""


def test_offline_default_budget_applies_without_max_tokens() -> None:
    prompt = " ".join(f"Sentence number {i} mentions topic alpha." for i in range(500))
    text = complete(LLMRequest(prompt=prompt)).text
    assert 0 < len(text) <= 256 * 4
