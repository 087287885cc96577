"""The provider-neutral request/response types and the :class:`LLMProvider` protocol.

Nodes talk to language models only through :class:`LLMProvider`, so the same
graph runs against the deterministic offline provider in tests and CI, and
against Gemini or any OpenAI-compatible server in production, by configuration
alone (see :mod:`nodes.llm.config`).

The models are frozen pydantic models: a response may be shared by a cache
between many callers, so nobody may mutate it in place (use ``model_copy``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["LLMProvider", "LLMRequest", "LLMResponse", "StreamingProvider", "TokenSink",
           "ToolCall", "ToolSpec", "Usage", "estimate_tokens", "stream_or_complete"]


class ToolSpec(BaseModel):
    """A function the model may call: its name, what it does, its arguments' JSON schema
    (sent as Gemini ``functionDeclarations`` / OpenAI ``tools``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object",
                                                                "properties": {}})


class ToolCall(BaseModel):
    """A call the model asks for; answer it with a ``{"role": "tool", "tool_call_id":
    id, "name": name, "content": result}`` message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

#: Called with each piece of a model's output as it arrives.
TokenSink = Callable[[str], None]


class LLMRequest(BaseModel):
    """One completion request: a ``prompt``, or a conversation in ``messages`` (then
    ``prompt``, if any, is one more user turn), with ``tools`` the model may call.

    Messages are dicts: ``{"role": "user" | "assistant" | "system", "content": ...}``,
    an assistant turn that called tools with ``"tool_calls": [{"id", "name",
    "arguments"}]``, and each result as ``{"role": "tool", "tool_call_id", "name",
    "content"}`` (other keys, such as the ``messages`` reducer's ``id``, are ignored).
    ``max_tokens=None`` leaves the output limit to the provider's default.
    ``temperature`` defaults to 0 because workflow nodes want reproducible
    answers far more often than creative ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = ""
    system: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    messages: tuple[dict[str, Any], ...] = ()
    tools: tuple[ToolSpec, ...] = ()

    def turns(self) -> list[dict[str, Any]]:
        """The conversation: ``messages``, then ``prompt`` as a user turn."""
        out = list(self.messages)
        if self.prompt or not self.messages:
            out.append({"role": "user", "content": self.prompt})
        return out


class Usage(BaseModel):
    """Token counts as reported by the provider (estimated by the offline provider)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _fill_total(self) -> Usage:
        # Some servers omit the total (or report 0); derive it so that callers
        # summing ``total_tokens`` never undercount. Frozen, hence object.__setattr__.
        if self.total_tokens == 0 and (self.prompt_tokens or self.completion_tokens):
            object.__setattr__(self, "total_tokens", self.prompt_tokens + self.completion_tokens)
        return self


class LLMResponse(BaseModel):
    """A completion.

    ``model`` is the model that actually answered (providers may resolve an
    alias to a dated version). ``cost_usd`` is what this call was billed,
    computed from ``usage`` and the price table; it is ``0.0`` for unknown
    models, for the offline provider, and for cache hits (``cached=True``),
    because nothing was billed for them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    model: str
    provider: str
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = Field(default=0.0, ge=0.0)
    cached: bool = False
    tool_calls: tuple[ToolCall, ...] = ()

    def message(self) -> dict[str, Any]:
        """This answer as the assistant turn of a conversation (``messages``)."""
        out: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            out["tool_calls"] = [c.model_dump() for c in self.tool_calls]
        return out


@runtime_checkable
class LLMProvider(Protocol):
    """Anything that can answer an :class:`LLMRequest`.

    Implementations must be safe to call concurrently from many tasks, must work
    under both asyncio and trio (use anyio/httpx, never asyncio directly), and
    must raise only :class:`nodes.llm.errors.LLMError` for provider failures
    (cancellation propagates untouched).
    """

    name: str
    model: str

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Answer ``request``."""
        ...


@runtime_checkable
class StreamingProvider(LLMProvider, Protocol):
    """A provider that can also hand over its output as the model writes it."""

    async def stream(self, request: LLMRequest, on_token: TokenSink) -> LLMResponse:
        """Answer ``request``, calling ``on_token`` with each piece of text in order; the
        response holds the whole text. A stream cut off before the model finished
        raises :class:`nodes.llm.errors.LLMError` (``retryable=True``)."""
        ...


async def stream_or_complete(provider: LLMProvider, request: LLMRequest,
                             on_token: TokenSink) -> LLMResponse:
    """Stream when ``provider`` can; otherwise the whole answer is one piece."""
    if isinstance(provider, StreamingProvider):
        return await provider.stream(request, on_token)
    response = await provider.complete(request)
    if response.text:
        on_token(response.text)
    return response


_WORD = re.compile(r"\S+")


def estimate_tokens(text: str) -> int:
    """A rough, deterministic token count: whitespace-separated words.

    Real tokenizers produce ~1.3 tokens per English word; words are close
    enough for budgeting and keep the offline provider dependency-free.
    """
    return len(_WORD.findall(text))
