"""Errors of the market-data layer.

Every failure of a data provider surfaces as :class:`MarketDataError` (an
:class:`runtime.errors.ActorflowError`), whatever the transport underneath;
httpx errors and unexpected payloads are mapped at the boundary with
``raise ... from exc``. The message never contains an API key.

::

    ActorflowError
    └── MarketDataError              a provider could not answer (.provider, .status)
        ├── MarketConfigError        ACTORFLOW_MARKET_PROVIDER & co. are wrong (.variable)
        ├── RateLimited              the provider said "too many requests" (.retry_after)
        ├── MarketCircuitOpen        not sent: the provider keeps failing (.retry_at)
        ├── MalformedResponse        the answer is not in the documented format
        └── DataUnavailable          no data for that symbol / period
"""

from __future__ import annotations

from datetime import datetime

from runtime.errors import ActorflowError

__all__ = ["DataUnavailable", "MalformedResponse", "MarketCircuitOpen", "MarketConfigError", "MarketDataError",
           "RateLimited"]


class MarketDataError(ActorflowError):
    """A market-data provider failed; ``retryable`` says whether later may work."""

    def __init__(self, message: str, *, provider: str, status: int | None = None,
                 retryable: bool = False) -> None:
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.reason = message
        super().__init__(f"{provider}: {message}")


class MarketConfigError(MarketDataError, ValueError):
    """The provider configuration is missing or invalid; ``variable`` names the culprit."""

    def __init__(self, message: str, *, provider: str, variable: str | None = None) -> None:
        self.variable = variable
        super().__init__(message, provider=provider)


class RateLimited(MarketDataError):
    """The provider refused for now (Finnhub: HTTP 429; Alpha Vantage: a 200 with a "Note")."""

    def __init__(self, message: str, *, provider: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, provider=provider, status=status, retryable=True)


class MarketCircuitOpen(MarketDataError):
    """Not sent: the provider failed repeatedly and its circuit breaker is open
    (:mod:`nodes.circuit`); ``retry_at`` (UTC) is when a probe call may go through."""

    def __init__(self, message: str, *, provider: str, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__(message, provider=provider, retryable=False)


class MalformedResponse(MarketDataError):
    """The provider answered, but not in its documented format."""


class DataUnavailable(MarketDataError):
    """The provider has no data for the symbol or period asked for."""
