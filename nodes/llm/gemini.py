"""Google Gemini through its REST API (``models.generateContent``).

Wire format (https://ai.google.dev/api/generate-content)::

    POST {base_url}/v1beta/models/{model}:generateContent
    x-goog-api-key: <key>
    {"contents": [{"role": "user", "parts": [{"text": prompt}]}],
     "systemInstruction": {"parts": [{"text": system}]},
     "generationConfig": {"maxOutputTokens": n, "temperature": t}}

    200 {"candidates": [{"content": {"parts": [{"text": ...}], "role": "model"},
                         "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": p, "candidatesTokenCount": c,
                           "totalTokenCount": t},
         "modelVersion": "gemini-2.0-flash-001"}

Streaming (``stream``) posts the same body to ``:streamGenerateContent?alt=sse``; the
answer is server-sent events, each ``data:`` a ``GenerateContentResponse`` holding the
next part of the text; the last one carries ``finishReason`` and ``usageMetadata``.
A stream that ends without a ``finishReason`` was cut off.

Conversations and tools: ``messages`` become ``contents`` (assistant turns as role
``model``, a tool call as a ``functionCall`` part, its result as a ``functionResponse``
part of a ``user`` turn); ``tools`` become ``{"tools": [{"functionDeclarations":
[{"name", "description", "parameters"}]}]}``; the ``functionCall`` parts of an answer
are its ``tool_calls``.

The key travels in the ``x-goog-api-key`` header rather than the documented
``?key=`` alternative, so that it can never leak through a logged URL.
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from .base import LLMRequest, LLMResponse, TokenSink, ToolCall, Usage
from .errors import LLMError
from .http import HttpProviderBase, HttpTransport, HttpRetryPolicy
from .pricing import DEFAULT_PRICES, PriceTable
from .stream import StreamFold

__all__ = ["GEMINI_BASE_URL", "GEMINI_DEFAULT_MODEL", "GeminiProvider"]

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
GEMINI_DEFAULT_MODEL = "gemini-2.0-flash"


class GeminiProvider(HttpProviderBase):
    """:class:`~nodes.llm.base.LLMProvider` for the Gemini API."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str = GEMINI_DEFAULT_MODEL,
        base_url: str = GEMINI_BASE_URL,
        timeout: float = 60.0,
        retry: HttpRetryPolicy | None = None,
        prices: PriceTable | None = None,
        client: httpx.AsyncClient | None = None,
        name: str = "gemini",
        rng: random.Random | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("GeminiProvider needs an api_key")
        self.name = name
        # Accept the "models/<name>" spelling the API itself uses.
        self.model = model.removeprefix("models/")
        self.prices = prices if prices is not None else DEFAULT_PRICES
        self._transport = HttpTransport(
            provider=name,
            base_url=base_url,
            headers={"x-goog-api-key": api_key},
            timeout=timeout,
            retry=retry,
            client=client,
            rng=rng,
        )

    def build_body(self, request: LLMRequest) -> dict[str, Any]:
        """The ``generateContent`` request body for ``request``."""
        config: dict[str, Any] = {"temperature": request.temperature}
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        system = [request.system] if request.system else []
        contents: list[dict[str, Any]] = []
        for m in request.turns():
            role = m.get("role")
            if role == "system":
                system.append(str(m.get("content") or ""))
            elif role == "assistant":
                parts: list[dict[str, Any]] = ([{"text": m["content"]}]
                                               if m.get("content") else [])
                for c in m.get("tool_calls") or []:
                    call = {"name": c["name"], "args": c.get("arguments") or {}}
                    if c.get("id"):
                        call["id"] = c["id"]
                    parts.append({"functionCall": call})
                contents.append({"role": "model", "parts": parts})
            elif role == "tool":
                response: dict[str, Any] = {"name": m.get("name") or "",
                                            "response": {"result": m.get("content")}}
                if m.get("tool_call_id"):
                    response["id"] = m["tool_call_id"]
                contents.append({"role": "user", "parts": [{"functionResponse": response}]})
            else:
                contents.append({"role": "user", "parts": [{"text": str(m.get("content"))}]})
        body: dict[str, Any] = {"contents": contents, "generationConfig": config}
        if system:
            body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
        if request.tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in request.tools]}]
        return body

    async def complete(self, request: LLMRequest) -> LLMResponse:
        data = await self._transport.post_json(
            f"/v1beta/models/{self.model}:generateContent", self.build_body(request)
        )
        return self.parse_response(data)

    async def stream(self, request: LLMRequest, on_token: TokenSink) -> LLMResponse:
        """Answer ``request`` as a stream (see the module doc); ``on_token`` gets each
        piece of text as it arrives."""
        acc = _Stream(self.name, on_token)
        await self._transport.stream_sse(
            f"/v1beta/models/{self.model}:streamGenerateContent", self.build_body(request),
            acc.feed, params={"alt": "sse"})
        return self.parse_response(acc.whole())

    def parse_response(self, data: dict[str, Any]) -> LLMResponse:
        """Turn a ``GenerateContentResponse`` into an :class:`LLMResponse`."""
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            # No candidate at all means the *prompt* was refused; say why.
            feedback = data.get("promptFeedback")
            reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
            raise LLMError(
                f"prompt blocked ({reason})" if reason else "response has no candidates",
                provider=self.name,
                status=200,
                retryable=False,
            )
        first = candidates[0] if isinstance(candidates[0], dict) else {}
        content = first.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts = [
            p["text"]
            for p in (parts if isinstance(parts, list) else [])
            # "thought" parts are the model's reasoning summary, not its answer.
            if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
        ]
        calls = [
            ToolCall(id=str(fc.get("id") or f"call_{i}"), name=str(fc.get("name")),
                     arguments=fc.get("args") if isinstance(fc.get("args"), dict) else {})
            for i, fc in enumerate(
                p["functionCall"] for p in (parts if isinstance(parts, list) else [])
                if isinstance(p, dict) and isinstance(p.get("functionCall"), dict))
        ]
        finish = first.get("finishReason")
        if not texts and not calls and finish not in (None, "STOP", "MAX_TOKENS"):
            # e.g. SAFETY / RECITATION: the answer was withheld; retrying won't help.
            raise LLMError(
                f"no text in response (finishReason={finish})",
                provider=self.name,
                status=200,
                retryable=False,
            )
        meta = data.get("usageMetadata")
        meta = meta if isinstance(meta, dict) else {}
        prompt_tokens = _int(meta.get("promptTokenCount"))
        # Thinking tokens are billed at the output rate, so count them as completion.
        completion_tokens = _int(meta.get("candidatesTokenCount")) + _int(
            meta.get("thoughtsTokenCount")
        )
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=_int(meta.get("totalTokenCount")),
        )
        version = data.get("modelVersion")
        model = version if isinstance(version, str) and version else self.model
        return LLMResponse(
            text="".join(texts),
            model=model,
            provider=self.name,
            usage=usage,
            cost_usd=self.prices.cost_usd(model, usage),
            tool_calls=tuple(calls),
        )


class _Stream(StreamFold):
    """The chunks of one streamed answer, folded into one ``GenerateContentResponse``."""

    def __init__(self, provider: str, on_token: TokenSink) -> None:
        super().__init__(provider, on_token)
        self.parts: list[dict[str, Any]] = []
        self.finish: Any = None
        self.last: dict[str, Any] = {}

    def feed(self, data: str) -> None:
        chunk = self.decode(data)
        if chunk is None:
            return
        self.last = chunk
        candidates = chunk.get("candidates")
        first = candidates[0] if isinstance(candidates, list) and candidates else {}
        content = first.get("content") if isinstance(first, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        for p in parts if isinstance(parts, list) else []:
            if not isinstance(p, dict):
                continue
            self.parts.append(p)
            if isinstance(p.get("text"), str) and p["text"] and not p.get("thought"):
                self.on_token(p["text"])
        if isinstance(first, dict) and first.get("finishReason"):
            self.finish = first["finishReason"]

    def whole(self) -> dict[str, Any]:
        if self.finish is None and not (self.chunks and "promptFeedback" in self.last):
            raise LLMError(
                f"the stream ended after {self.chunks} chunk(s) without a finishReason: "
                "it was cut off before the model finished", provider=self.provider,
                status=200, retryable=True)
        out = dict(self.last)
        if self.finish is not None:
            out["candidates"] = [{"content": {"parts": self.parts, "role": "model"},
                                  "finishReason": self.finish}]
        return out


def _int(value: object) -> int:
    # Gemini omits zero counts entirely (e.g. candidatesTokenCount on an empty answer).
    return value if isinstance(value, int) and value >= 0 else 0
