"""Alpha Vantage (https://www.alphavantage.co/documentation/), over HTTP.

Wire format (all ``GET {base}/query?function=...&apikey=KEY``)::

    GLOBAL_QUOTE&symbol=AAPL      -> {"Global Quote": {"05. price": "...",
                                       "07. latest trading day": "...", "08. previous close"}}
    TIME_SERIES_DAILY&symbol=AAPL&outputsize=full
                                  -> {"Meta Data": {...}, "Time Series (Daily)":
                                      {"2016-06-30": {"1. open": "...", "2. high", "3. low",
                                                      "4. close", "5. volume"}}}
    OVERVIEW&symbol=AAPL          -> {"Symbol": "AAPL", "PERatio": "...", "ProfitMargin": ...}
    NEWS_SENTIMENT&tickers=AAPL&time_from=YYYYMMDDT0000&time_to=...
                                  -> {"feed": [{"title", "time_published": "YYYYMMDDTHHMMSS",
                                                "source", "url", "summary"}]}

Alpha Vantage answers errors with HTTP 200: a rate limit carries a ``"Note"``
or ``"Information"`` field, a bad call an ``"Error Message"``; both are mapped
here. Numbers come as strings (``"None"`` or ``"-"`` when unknown).
"""

from __future__ import annotations

import math
from typing import Any

from nodes.llm.http import HttpRetryPolicy

from .errors import DataUnavailable, MalformedResponse, MarketDataError, RateLimited
from .http import MarketHttp
from .models import Fundamentals, Headline, PriceSeries, Quote

__all__ = ["ALPHAVANTAGE_BASE_URL", "AlphaVantageProvider"]

ALPHAVANTAGE_BASE_URL = "https://www.alphavantage.co"

#: OVERVIEW field -> our ratio name (already fractions).
OVERVIEW: dict[str, str] = {
    "PERatio": "pe", "PriceToBookRatio": "pb", "PriceToSalesRatioTTM": "ps",
    "ProfitMargin": "net_margin", "OperatingMarginTTM": "operating_margin",
    "ReturnOnEquityTTM": "roe", "QuarterlyRevenueGrowthYOY": "revenue_growth",
    "QuarterlyEarningsGrowthYOY": "eps_growth", "DividendYield": "dividend_yield",
}


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


class AlphaVantageProvider:
    """:class:`~nodes.finance.provider.MarketDataProvider` for Alpha Vantage's API."""

    name = "alphavantage"

    def __init__(self, *, api_key: str, base_url: str = ALPHAVANTAGE_BASE_URL,
                 timeout: float = 30.0, retry: HttpRetryPolicy | None = None) -> None:
        self._http = MarketHttp(provider=self.name, base_url=base_url,
                                key_param=("apikey", api_key), timeout=timeout, retry=retry)

    async def _call(self, function: str, **params: str) -> dict[str, Any]:
        data = await self._http.get_json("/query", {"function": function, **params})
        if not isinstance(data, dict):
            raise MalformedResponse(f"{function}: expected a JSON object, got "
                                    f"{type(data).__name__}", provider=self.name)
        for field in ("Note", "Information"):
            if isinstance(data.get(field), str):
                # A 200 that is really "slow down" (or "this needs a premium key").
                raise RateLimited(f"{function}: {self._http.scrub(data[field][:200])}",
                                  provider=self.name, status=200)
        if isinstance(data.get("Error Message"), str):
            raise MarketDataError(f"{function}: {self._http.scrub(data['Error Message'][:200])}",
                                  provider=self.name, status=200)
        return data

    async def quote(self, symbol: str) -> Quote:
        q = (await self._call("GLOBAL_QUOTE", symbol=symbol)).get("Global Quote")
        if not isinstance(q, dict):
            raise MalformedResponse("GLOBAL_QUOTE without 'Global Quote'", provider=self.name)
        if not q:
            raise DataUnavailable(f"no quote for {symbol!r}", provider=self.name)
        price = _num(q.get("05. price"))
        if price is None or not isinstance(q.get("07. latest trading day"), str):
            raise MalformedResponse(f"GLOBAL_QUOTE price {q.get('05. price')!r} is not a "
                                    "number", provider=self.name)
        return Quote(symbol=symbol, price=price, previous_close=_num(q.get("08. previous close")),
                     as_of=q["07. latest trading day"])

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        data = await self._call("TIME_SERIES_DAILY", symbol=symbol, outputsize="full")
        series = data.get("Time Series (Daily)")
        if not isinstance(series, dict):
            raise MalformedResponse("TIME_SERIES_DAILY without 'Time Series (Daily)'",
                                    provider=self.name)
        rows = sorted((d, bar) for d, bar in series.items() if start <= d <= end)
        if not rows:
            raise DataUnavailable(f"no daily prices for {symbol!r} from {start} to {end}",
                                  provider=self.name)
        cols: dict[str, list[float]] = {k: [] for k in ("1. open", "2. high", "3. low",
                                                        "4. close", "5. volume")}
        for day, bar in rows:
            for k, values in cols.items():
                x = _num(bar.get(k)) if isinstance(bar, dict) else None
                if x is None:
                    raise MalformedResponse(f"TIME_SERIES_DAILY {day} {k!r} is not a number",
                                            provider=self.name)
                values.append(x)
        return PriceSeries(symbol=symbol, dates=[d for d, _ in rows], open=cols["1. open"],
                           high=cols["2. high"], low=cols["3. low"], close=cols["4. close"],
                           volume=cols["5. volume"])

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        data = await self._call("OVERVIEW", symbol=symbol)
        if not data:
            raise DataUnavailable(f"no company overview for {symbol!r}", provider=self.name)
        metrics = {ours: x for theirs, ours in OVERVIEW.items()
                   if (x := _num(data.get(theirs))) is not None}
        revenue, gross = _num(data.get("RevenueTTM")), _num(data.get("GrossProfitTTM"))
        if revenue and gross is not None:
            metrics["gross_margin"] = gross / revenue
        quarter = data.get("LatestQuarter") if isinstance(data.get("LatestQuarter"), str) else None
        return Fundamentals(symbol=symbol, source="Alpha Vantage OVERVIEW",
                            period=f"trailing twelve months to {quarter or 'the latest quarter'}",
                            period_end=quarter, metrics=metrics)

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        data = await self._call("NEWS_SENTIMENT", tickers=symbol, limit="200",
                                time_from=start.replace("-", "") + "T0000",
                                time_to=end.replace("-", "") + "T2359")
        feed = data.get("feed")
        if not isinstance(feed, list):
            raise MalformedResponse("NEWS_SENTIMENT without a 'feed' list", provider=self.name)
        out = []
        for item in feed:
            stamp = item.get("time_published") if isinstance(item, dict) else None
            if not isinstance(stamp, str) or len(stamp) < 8 or not isinstance(item.get("title"),
                                                                                str):
                raise MalformedResponse(f"NEWS_SENTIMENT item without title/time: {item!r:.80}",
                                        provider=self.name)
            day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
            out.append(Headline(date=day, headline=item["title"],
                                source=str(item.get("source") or "unknown"),
                                url=item.get("url") or None, summary=item.get("summary") or None))
        return sorted(out, key=lambda h: h.date)

    async def aclose(self) -> None:
        await self._http.aclose()
