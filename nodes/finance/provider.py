"""The one protocol every market-data provider speaks.

Analyses depend on :class:`MarketDataProvider` only; which implementation
answers is a deployment decision (:func:`nodes.finance.config.market_provider_from_env`):
the offline provider (shipped data, the default), Finnhub or Alpha Vantage.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .models import Fundamentals, Headline, PriceSeries, Quote

__all__ = ["MarketDataProvider"]


@runtime_checkable
class MarketDataProvider(Protocol):
    """Quotes, daily prices, fundamentals and company news for a symbol.

    Implementations must be safe to call concurrently, work under asyncio and
    trio, and raise only :class:`nodes.finance.errors.MarketDataError` for
    provider failures. Dates are ISO strings (``YYYY-MM-DD``), inclusive.
    """

    name: str

    async def quote(self, symbol: str) -> Quote:
        """The latest price."""
        ...

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        """Daily bars from ``start`` to ``end``."""
        ...

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        """The latest figures published on or before ``as_of``."""
        ...

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        """Headlines published from ``start`` to ``end``, oldest first."""
        ...
