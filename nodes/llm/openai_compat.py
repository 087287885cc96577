"""Any OpenAI-compatible Chat Completions server: OpenAI, Ollama, vLLM, LM Studio...

Wire format::

    POST {base_url}/chat/completions
    Authorization: Bearer <key>            (omitted when no key: local servers)
    {"model": m, "messages": [{"role": "system", ...}, {"role": "user", ...}],
     "max_tokens": n, "temperature": t}

    200 {"model": ..., "choices": [{"message": {"role": "assistant", "content": ...}}],
         "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": t}}

``base_url`` includes the version prefix, as in every OpenAI client
(``https://api.openai.com/v1``, ``http://localhost:11434/v1`` for Ollama).
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from .base import LLMRequest, LLMResponse, Usage
from .errors import LLMError
from .http import HttpProviderBase, HttpTransport, RetryPolicy
from .pricing import DEFAULT_PRICES, PriceTable

__all__ = ["OPENAI_BASE_URL", "OPENAI_DEFAULT_MODEL", "OpenAICompatProvider"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"


class OpenAICompatProvider(HttpProviderBase):
    """:class:`~nodes.llm.base.LLMProvider` for ``/chat/completions`` servers.

    ``max_tokens_field`` names the output-limit field: ``"max_tokens"`` is what
    Ollama/vLLM and older OpenAI models accept; OpenAI's reasoning models want
    ``"max_completion_tokens"``.
    """

    def __init__(
        self,
        *,
        model: str = OPENAI_DEFAULT_MODEL,
        base_url: str = OPENAI_BASE_URL,
        api_key: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        prices: PriceTable | None = None,
        client: httpx.AsyncClient | None = None,
        name: str = "openai",
        max_tokens_field: str = "max_tokens",
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.prices = prices if prices is not None else DEFAULT_PRICES
        self.max_tokens_field = max_tokens_field
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._transport = HttpTransport(
            provider=name,
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            retry=retry,
            client=client,
            rng=rng,
        )

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        """The Chat Completions request body for ``request``."""
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
        }
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        return body

    async def complete(self, request: LLMRequest) -> LLMResponse:
        data = await self._transport.post_json("/chat/completions", self.build_body(request))
        return self.parse_response(data)

    def parse_response(self, data: dict[str, Any]) -> LLMResponse:
        """Turn a ``ChatCompletion`` object into an :class:`LLMResponse`."""
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise LLMError("response has no choices[0].message", provider=self.name, status=200)
        content = message.get("content")
        if not isinstance(content, str):
            # content is null for refusals (and tool calls, which we never request).
            refusal = message.get("refusal")
            raise LLMError(
                f"model refused: {refusal}" if isinstance(refusal, str) else "response has no text",
                provider=self.name,
                status=200,
            )
        raw_usage = data.get("usage")
        raw_usage = raw_usage if isinstance(raw_usage, dict) else {}
        usage = Usage(
            prompt_tokens=_int(raw_usage.get("prompt_tokens")),
            completion_tokens=_int(raw_usage.get("completion_tokens")),
            total_tokens=_int(raw_usage.get("total_tokens")),
        )
        reported = data.get("model")
        model = reported if isinstance(reported, str) and reported else self.model
        return LLMResponse(
            text=content,
            model=model,
            provider=self.name,
            usage=usage,
            cost_usd=self.prices.cost_usd(model, usage),
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
