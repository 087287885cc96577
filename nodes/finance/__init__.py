"""Financial analysis: market-data providers, indicators, the four analyses, scoring, report.

The tools and the example graph that use these are in :mod:`nodes.tools.finance`
and :mod:`nodes.workflows.financial_analysis`. Pick the data source with
``ACTORFLOW_MARKET_PROVIDER`` (:mod:`nodes.finance.config`); embed with::

    from nodes.finance import FinnhubProvider, use_market_provider
    with use_market_provider(CachedProvider(FinnhubProvider(api_key=...))):
        ...
"""

from .alphavantage import AlphaVantageProvider
from .cache import CachedProvider
from .config import market_provider_from_env
from .current import get_market_provider, set_market_provider, use_market_provider
from .errors import (
    DataUnavailable,
    MalformedResponse,
    MarketConfigError,
    MarketDataError,
    MarketCircuitOpen,
    RateLimited,
)
from .finnhub import FinnhubProvider
from .models import Fundamentals, Headline, PriceSeries, Quote
from .offline import OfflineProvider
from .provider import MarketDataProvider
from .scoring import recommend

__all__ = [
    "AlphaVantageProvider",
    "CachedProvider",
    "DataUnavailable",
    "FinnhubProvider",
    "Fundamentals",
    "Headline",
    "MalformedResponse",
    "MarketConfigError",
    "MarketDataError",
    "MarketDataProvider",
    "OfflineProvider",
    "PriceSeries",
    "Quote",
    "MarketCircuitOpen",
    "RateLimited",
    "get_market_provider",
    "market_provider_from_env",
    "recommend",
    "set_market_provider",
    "use_market_provider",
]
