"""The process-wide market-data provider that the workflow's nodes use.

Built on first use from the environment (:func:`market_provider_from_env`,
offline unless configured) and wrapped in a :class:`CachedProvider`; the server
and the CLI call :func:`use_store_cache` with their runtime's store so answers
are cached in the database too. Tests and embedders swap it::

    with use_market_provider(my_provider):
        ...
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from runtime.store.base import Store

from ..slot import Slot
from .cache import CachedProvider
from .config import market_provider_from_env
from .offline import OfflineProvider
from .provider import MarketDataProvider

__all__ = ["get_market_provider", "set_market_provider", "use_market_provider",
           "use_store_cache"]

_current: Slot[MarketDataProvider] = Slot()
_store: Store | None = None


def _wrap(provider: MarketDataProvider) -> MarketDataProvider:
    if isinstance(provider, OfflineProvider | CachedProvider):
        return provider  # the offline data is in memory already; a cache would only copy it
    return CachedProvider(provider, store=_store)


def use_store_cache(store: Store | None) -> None:
    """Cache provider answers in ``store`` too (for the provider built from the environment)."""
    global _store
    _store = store
    if isinstance(_current.value, CachedProvider):
        _current.value.store = store


def get_market_provider() -> MarketDataProvider:
    """The provider nodes use; built from the environment on first call.

    Raises:
        MarketConfigError: if the environment names a provider it does not configure fully.
    """
    if _current.value is None:
        _current.value = _wrap(market_provider_from_env())
    return _current.value


def set_market_provider(provider: MarketDataProvider | None) -> None:
    """Use ``provider`` (wrapped in a cache unless offline); ``None`` rebuilds from the env."""
    _current.value = None if provider is None else _wrap(provider)


def use_market_provider(provider: MarketDataProvider) -> AbstractContextManager[MarketDataProvider]:
    """Use ``provider`` as is inside the block, then restore the previous one."""
    return _current.holding(provider)
