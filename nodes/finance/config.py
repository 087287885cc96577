"""Choose the market-data provider from environment variables.

================================  ======================================  ===========================
variable                          meaning                                 default
================================  ======================================  ===========================
ACTORFLOW_MARKET_PROVIDER         ``offline`` | ``finnhub`` | ``alphavantage``  ``offline``
FINNHUB_API_KEY                   Finnhub key (sent in a header)          required for ``finnhub``
ACTORFLOW_FINNHUB_BASE_URL        Finnhub API root, incl. ``/api/v1``     Finnhub's endpoint
ALPHAVANTAGE_API_KEY              Alpha Vantage key                       required for ``alphavantage``
ACTORFLOW_ALPHAVANTAGE_BASE_URL   Alpha Vantage root (``/query`` below)   Alpha Vantage's endpoint
ACTORFLOW_MARKET_TIMEOUT          seconds per HTTP attempt                ``30``
================================  ======================================  ===========================

Offline is the default: nothing calls a paid API, or fails for lack of a key,
unless someone asked for it. Empty variables count as unset. Keys are read
here and handed to the providers; they are never logged or put in messages.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from .alphavantage import ALPHAVANTAGE_BASE_URL, AlphaVantageProvider
from .errors import MarketConfigError
from .finnhub import FINNHUB_BASE_URL, FinnhubProvider
from .offline import OfflineProvider
from .provider import MarketDataProvider

__all__ = ["PROVIDERS", "market_provider_from_env"]

PROVIDERS = ("offline", "finnhub", "alphavantage")


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def _url(env: Mapping[str, str], name: str, default: str, provider: str) -> str:
    value = _get(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MarketConfigError(f"{name}={value!r} is not an http(s) URL, e.g. {default!r}",
                                provider=provider, variable=name)
    return value


def _timeout(env: Mapping[str, str], provider: str) -> float:
    raw = _get(env, "ACTORFLOW_MARKET_TIMEOUT")
    if raw is None:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise MarketConfigError(f"ACTORFLOW_MARKET_TIMEOUT={raw!r} must be a positive number "
                                "of seconds, e.g. 30", provider=provider,
                                variable="ACTORFLOW_MARKET_TIMEOUT")
    return value


def _key(env: Mapping[str, str], name: str, provider: str) -> str:
    key = _get(env, name)
    if key is None:
        raise MarketConfigError(
            f"{name} is not set; ACTORFLOW_MARKET_PROVIDER={provider} needs an API key, "
            "or use ACTORFLOW_MARKET_PROVIDER=offline (the shipped AAPL data)",
            provider=provider, variable=name)
    return key


def market_provider_from_env(env: Mapping[str, str] = os.environ) -> MarketDataProvider:
    """Build the provider the environment asks for (nothing is sent over the network here).

    Raises:
        MarketConfigError: naming the variable that is missing or invalid.
    """
    choice = (_get(env, "ACTORFLOW_MARKET_PROVIDER") or "offline").lower()
    if choice == "offline":
        return OfflineProvider()
    if choice == "finnhub":
        return FinnhubProvider(api_key=_key(env, "FINNHUB_API_KEY", choice),
                               base_url=_url(env, "ACTORFLOW_FINNHUB_BASE_URL", FINNHUB_BASE_URL,
                                             choice),
                               timeout=_timeout(env, choice))
    if choice == "alphavantage":
        return AlphaVantageProvider(
            api_key=_key(env, "ALPHAVANTAGE_API_KEY", choice),
            base_url=_url(env, "ACTORFLOW_ALPHAVANTAGE_BASE_URL", ALPHAVANTAGE_BASE_URL, choice),
            timeout=_timeout(env, choice))
    raise MarketConfigError(f"ACTORFLOW_MARKET_PROVIDER={choice!r} is not a known provider; "
                            f"choose one of {', '.join(PROVIDERS)}", provider=choice,
                            variable="ACTORFLOW_MARKET_PROVIDER")
