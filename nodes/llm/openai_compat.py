"""Any OpenAI-compatible Chat Completions server: OpenAI, Ollama, vLLM, LM Studio...

Wire format::

    POST {base_url}/chat/completions
    Authorization: Bearer <key>            (omitted when no key: local servers)
    {"model": m, "messages": [{"role": "system", ...}, {"role": "user", ...}],
     "max_tokens": n, "temperature": t}

    200 {"model": ..., "choices": [{"message": {"role": "assistant", "content": ...}}],
         "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": t}}

Streaming (``stream``) adds ``"stream": true, "stream_options": {"include_usage": true}``;
the answer is server-sent events, each ``data:`` a ``chat.completion.chunk`` whose
``choices[0].delta.content`` is the next part of the text, then one with ``usage``,
then ``data: [DONE]``. A stream that ends without ``[DONE]`` was cut off.

Conversations and tools: ``messages`` are sent as they are (an assistant turn's
``tool_calls`` as ``{"id", "type": "function", "function": {"name", "arguments": <JSON
text>}}``, a result as ``{"role": "tool", "tool_call_id", "content"}``); ``tools`` as
``[{"type": "function", "function": {"name", "description", "parameters"}}]``; the
answer's ``message.tool_calls`` (in a stream, ``delta.tool_calls`` pieces by ``index``)
are its ``tool_calls``.

``base_url`` includes the version prefix, as in every OpenAI client
(``https://api.openai.com/v1``, ``http://localhost:11434/v1`` for Ollama).
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from .base import LLMRequest, LLMResponse, TokenSink, ToolCall, Usage
from .errors import LLMError
from .http import HttpProviderBase, HttpTransport, HttpRetryPolicy
from .pricing import DEFAULT_PRICES, PriceTable
from .stream import StreamFold

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
        retry: HttpRetryPolicy | None = None,
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
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for m in request.turns():
            role = m.get("role") or "user"
            if role == "assistant":
                out: dict[str, Any] = {"role": "assistant", "content": m.get("content") or None}
                if m.get("tool_calls"):
                    out["tool_calls"] = [
                        {"id": c["id"], "type": "function",
                         "function": {"name": c["name"],
                                      "arguments": json.dumps(c.get("arguments") or {})}}
                        for c in m["tool_calls"]]
                messages.append(out)
            elif role == "tool":
                messages.append({"role": "tool", "tool_call_id": m.get("tool_call_id"),
                                 "content": str(m.get("content"))})
            else:
                messages.append({"role": role, "content": m.get("content")})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
        }
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        if request.tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools]
        return body

    async def complete(self, request: LLMRequest) -> LLMResponse:
        data = await self._transport.post_json("/chat/completions", self.build_body(request))
        return self.parse_response(data)

    async def stream(self, request: LLMRequest, on_token: TokenSink) -> LLMResponse:
        """Answer ``request`` as a stream (see the module doc); ``on_token`` gets each
        piece of text as it arrives."""
        body = {**self.build_body(request), "stream": True,
                "stream_options": {"include_usage": True}}
        acc = _Stream(self.name, on_token)
        await self._transport.stream_sse("/chat/completions", body, acc.feed)
        return self.parse_response(acc.whole())

    def parse_response(self, data: dict[str, Any]) -> LLMResponse:
        """Turn a ``ChatCompletion`` object into an :class:`LLMResponse`."""
        choices = data.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise LLMError("response has no choices[0].message", provider=self.name, status=200)
        content = message.get("content")
        calls = self._tool_calls(message.get("tool_calls"))
        if calls and content is None:
            content = ""
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
            tool_calls=tuple(calls),
        )

    def _tool_calls(self, raw: Any) -> list[ToolCall]:
        out: list[ToolCall] = []
        for c in raw if isinstance(raw, list) else []:
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict):
                continue
            text = fn.get("arguments") or "{}"
            try:
                args = json.loads(text) if isinstance(text, str) else text
            except ValueError as exc:
                raise LLMError(f"tool call {fn.get('name')!r} has arguments that are not "
                               f"JSON: {text[:200]!r}", provider=self.name, status=200,
                               retryable=True) from exc
            out.append(ToolCall(id=str(c.get("id") or f"call_{len(out)}"),
                                name=str(fn.get("name")),
                                arguments=args if isinstance(args, dict) else {}))
        return out


class _Stream(StreamFold):
    """The chunks of one streamed answer, folded into one ``ChatCompletion``."""

    def __init__(self, provider: str, on_token: TokenSink) -> None:
        super().__init__(provider, on_token)
        self.text: list[str] = []
        self.done = False
        self.model: Any = None
        self.usage: Any = None
        self.finish: Any = None
        self.calls: dict[int, dict[str, Any]] = {}   # index -> id, name, arguments text

    def feed(self, data: str) -> None:
        if data.strip() == "[DONE]":
            self.done = True
            return
        chunk = self.decode(data)
        if chunk is None:
            return
        if isinstance(chunk.get("error"), dict):
            raise LLMError(f"the server reported an error mid-stream: "
                           f"{chunk['error'].get('message')}", provider=self.provider,
                           status=200, retryable=True)
        self.model = chunk.get("model") or self.model
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                self.text.append(content)
                self.on_token(content)
            for piece in (delta.get("tool_calls") if isinstance(delta, dict) else None) or []:
                call = self.calls.setdefault(int(piece.get("index", 0)),
                                             {"id": None, "name": "", "arguments": ""})
                fn = piece.get("function") or {}
                call["id"] = piece.get("id") or call["id"]
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""
            self.finish = choice.get("finish_reason") or self.finish

    def whole(self) -> dict[str, Any]:
        if not self.done:
            raise LLMError(
                f"the stream ended after {self.chunks} chunk(s) without [DONE]: it was cut "
                "off before the model finished", provider=self.provider, status=200,
                retryable=True)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text)}
        if self.calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"] or "{}"}}
                for _, c in sorted(self.calls.items())]
        return {"model": self.model, "usage": self.usage,
                "choices": [{"index": 0, "finish_reason": self.finish, "message": message}]}


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
