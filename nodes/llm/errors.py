"""Errors raised by LLM providers.

Every failure of a provider surfaces as :class:`LLMError` (a
:class:`runtime.errors.ActorflowError`), whatever the transport underneath:
httpx exceptions, bad JSON and unexpected response shapes are all mapped at the
boundary with ``raise LLMError(...) from exc`` so the original stays reachable
as ``__cause__`` while callers only ever need to catch one type.

The attributes are what a caller (e.g. a node retry policy) needs to decide
what to do next without parsing the message:

* ``provider`` - which provider failed (``"gemini"``, ``"openai"``, ...)
* ``status``   - the last HTTP status seen, or ``None`` (network error, timeout)
* ``retryable`` - whether trying again later can plausibly succeed (rate limits,
  5xx, timeouts) as opposed to a request that will never work (bad key, bad
  model name, invalid arguments)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runtime.errors import ActorflowError

__all__ = ["LLMCircuitOpenError", "LLMConfigError", "LLMError", "LLMTimeoutError"]


class LLMError(ActorflowError):
    """A provider call failed.

    ``attempts`` is how many HTTP attempts were made before giving up (``0``
    for errors raised before anything was sent).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retryable: bool = False,
        attempts: int = 0,
    ) -> None:
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.attempts = attempts
        self.reason = message
        super().__init__(f"{provider}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ arguments defeat Exception's default pickling;
        # rebuild from args + attributes so errors survive process boundaries.
        return (_restore, (type(self), self.args, self.__dict__))


class LLMTimeoutError(LLMError):
    """The provider did not answer within the per-request timeout (retryable)."""


class LLMCircuitOpenError(LLMError):
    """Not sent: the provider failed repeatedly and its circuit breaker is open
    (:mod:`nodes.circuit`); ``retry_at`` (UTC) is when a probe call may go through."""

    def __init__(self, message: str, *, provider: str, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(message, provider=provider, retryable=False)


class LLMConfigError(LLMError, ValueError):
    """The provider configuration is missing or invalid; ``variable`` names the culprit.

    Raised by :func:`nodes.llm.config.provider_from_env` before any request is made,
    so it is never retryable.
    """

    def __init__(self, message: str, *, provider: str, variable: str | None = None) -> None:
        self.variable = variable
        super().__init__(message, provider=provider, status=None, retryable=False)


def _restore(cls: type[LLMError], args: tuple[Any, ...], state: dict[str, Any]) -> LLMError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
