"""The offline provider: real AAPL data shipped with the package (see data/NOTICE.md).

Daily prices 2015-02-17 to 2017-02-16 (plotly/datasets, MIT), Apple's fiscal
2015 and 2016 10-K figures, and a small set of dated headlines. "Now" for the
offline provider is the run's ``as_of`` date: :meth:`OfflineProvider.quote` is
the last close of the data set, and fundamentals are those filed by ``as_of``.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import DataUnavailable
from .models import Fundamentals, Headline, PriceSeries, Quote

__all__ = ["OFFLINE_SYMBOLS", "OfflineProvider", "load_prices"]

OFFLINE_SYMBOLS = ("AAPL",)
PRICES_FILE = "finance-charts-apple.csv"


def _data(name: str) -> str:
    return resources.files("nodes.finance").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_prices() -> PriceSeries:
    """The whole shipped AAPL series (parsed once per process)."""
    rows = list(csv.DictReader(_data(PRICES_FILE).splitlines()))
    return PriceSeries(
        symbol="AAPL",
        dates=[r["Date"] for r in rows],
        open=[float(r["AAPL.Open"]) for r in rows],
        high=[float(r["AAPL.High"]) for r in rows],
        low=[float(r["AAPL.Low"]) for r in rows],
        close=[float(r["AAPL.Close"]) for r in rows],
        volume=[float(r["AAPL.Volume"]) for r in rows],
    )


@lru_cache(maxsize=1)
def _fundamentals() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_data("aapl_fundamentals.json"))
    return data


@lru_cache(maxsize=1)
def _headlines() -> list[Headline]:
    raw = json.loads(_data("aapl_headlines.json"))["headlines"]
    return sorted((Headline(**h) for h in raw), key=lambda h: h.date)


class OfflineProvider:
    """:class:`~nodes.finance.provider.MarketDataProvider` over the shipped data (AAPL only)."""

    name = "offline"

    def _check(self, symbol: str) -> None:
        if symbol.upper() not in OFFLINE_SYMBOLS:
            raise DataUnavailable(
                f"the offline data covers only {', '.join(OFFLINE_SYMBOLS)}, not {symbol!r}; "
                "set ACTORFLOW_MARKET_PROVIDER=finnhub or alphavantage (with an API key) "
                "for other symbols", provider=self.name)

    async def quote(self, symbol: str) -> Quote:
        self._check(symbol)
        prices = load_prices()
        return Quote(symbol="AAPL", price=prices.close[-1], previous_close=prices.close[-2],
                     as_of=prices.dates[-1])

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        self._check(symbol)
        prices = load_prices()
        keep = [i for i, d in enumerate(prices.dates) if start <= d <= end]
        if not keep:
            raise DataUnavailable(
                f"no AAPL prices from {start} to {end}: the offline data runs from "
                f"{prices.dates[0]} to {prices.dates[-1]}", provider=self.name)
        lo, hi = keep[0], keep[-1] + 1
        return prices.model_copy(update={
            k: getattr(prices, k)[lo:hi] for k in ("dates", "open", "high", "low", "close",
                                                    "volume")
        })

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        self._check(symbol)
        data = _fundamentals()
        filed = [r for r in data["reports"] if r["filed"] <= as_of]
        if not filed:
            first = min(r["filed"] for r in data["reports"])
            raise DataUnavailable(
                f"no annual report of AAPL filed on or before {as_of} in the offline data "
                f"(the first one was filed on {first})", provider=self.name)
        r = max(filed, key=lambda r: r["filed"])
        return Fundamentals(
            symbol="AAPL", source=r["source"],
            period=f"FY{r['fiscal_year']} ({r['period_start']} to {r['period_end']})",
            period_end=r["period_end"], filed=r["filed"],
            items={k: float(v) for k, v in r["items"].items()},
        )

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        self._check(symbol)
        return [h for h in _headlines() if start <= h.date <= end]
