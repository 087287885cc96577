"""Finnhub (https://finnhub.io/docs/api), over HTTP.

Wire format (all ``GET {base}/api/v1/...``, key in the ``X-Finnhub-Token`` header)::

    /quote?symbol=AAPL                -> {"c": price, "pc": previous close, "t": unix, ...}
    /stock/candle?symbol=AAPL&resolution=D&from=unix&to=unix
                                      -> {"s": "ok", "t": [...], "o", "h", "l", "c", "v"}
                                         or {"s": "no_data"}
    /stock/metric?symbol=AAPL&metric=all
                                      -> {"metric": {"peTTM": ..., "netProfitMarginTTM": ...}}
    /company-news?symbol=AAPL&from=YYYY-MM-DD&to=YYYY-MM-DD
                                      -> [{"datetime": unix, "headline", "source", "url",
                                           "summary", ...}]

A rate limit is HTTP 429 (``{"error": "API limit reached..."}``); percentages in
``metric`` are in percent and are converted to fractions here.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from nodes.llm.http import HttpRetryPolicy

from .errors import DataUnavailable, MalformedResponse
from .http import MarketHttp
from .models import Fundamentals, Headline, PriceSeries, Quote

__all__ = ["FINNHUB_BASE_URL", "FinnhubProvider"]

FINNHUB_BASE_URL = "https://finnhub.io/api/v1"

#: Finnhub metric -> (our ratio name, divisor to get a fraction).
METRICS: dict[str, tuple[str, float]] = {
    "peTTM": ("pe", 1), "pbAnnual": ("pb", 1), "psTTM": ("ps", 1),
    "netProfitMarginTTM": ("net_margin", 100), "grossMarginTTM": ("gross_margin", 100),
    "operatingMarginTTM": ("operating_margin", 100), "roeTTM": ("roe", 100),
    "totalDebt/totalEquityAnnual": ("debt_to_equity", 1),
    "currentRatioAnnual": ("current_ratio", 1),
    "revenueGrowthTTMYoy": ("revenue_growth", 100), "epsGrowthTTMYoy": ("eps_growth", 100),
    "dividendYieldIndicatedAnnual": ("dividend_yield", 100),
}


def _unix(day: str, end: bool = False) -> int:
    d = date.fromisoformat(day)
    moment = datetime(d.year, d.month, d.day, 23 if end else 0, 59 if end else 0, tzinfo=UTC)
    return int(moment.timestamp())


def _iso(ts: Any) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).date().isoformat()


def _number(value: Any, what: str, provider: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedResponse(f"{what} is not a number: {value!r}", provider=provider)
    return float(value)


class FinnhubProvider:
    """:class:`~nodes.finance.provider.MarketDataProvider` for Finnhub's REST API."""

    name = "finnhub"

    def __init__(self, *, api_key: str, base_url: str = FINNHUB_BASE_URL, timeout: float = 30.0,
                 retry: HttpRetryPolicy | None = None) -> None:
        self._http = MarketHttp(provider=self.name, base_url=base_url,
                                headers={"X-Finnhub-Token": api_key}, timeout=timeout,
                                retry=retry)

    async def _object(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        data = await self._http.get_json(path, params)
        if not isinstance(data, dict):
            raise MalformedResponse(f"GET {path}: expected a JSON object, got "
                                    f"{type(data).__name__}", provider=self.name)
        return data

    async def quote(self, symbol: str) -> Quote:
        data = await self._object("/quote", {"symbol": symbol})
        try:
            price = _number(data["c"], "quote.c", self.name)
            when = _iso(data["t"]) if data.get("t") else date.today().isoformat()
        except KeyError as exc:
            raise MalformedResponse(f"quote without {exc}", provider=self.name) from None
        if price == 0 and not data.get("t"):
            # Finnhub answers an unknown symbol with zeros rather than an error.
            raise DataUnavailable(f"no quote for {symbol!r}", provider=self.name)
        prev = data.get("pc")
        return Quote(symbol=symbol, price=price, as_of=when,
                     previous_close=_number(prev, "quote.pc", self.name) if prev else None)

    async def daily(self, symbol: str, start: str, end: str) -> PriceSeries:
        data = await self._object("/stock/candle", {
            "symbol": symbol, "resolution": "D", "from": str(_unix(start)),
            "to": str(_unix(end, end=True))})
        status = data.get("s")
        if status == "no_data":
            raise DataUnavailable(f"no daily prices for {symbol!r} from {start} to {end}",
                                  provider=self.name)
        if status != "ok":
            raise MalformedResponse(f"candles with status {status!r}", provider=self.name)
        try:
            columns = {k: [_number(v, f"candle.{k}", self.name) for v in data[k]]
                       for k in ("t", "o", "h", "l", "c", "v")}
            return PriceSeries(symbol=symbol, dates=[_iso(t) for t in columns["t"]],
                               open=columns["o"], high=columns["h"], low=columns["l"],
                               close=columns["c"], volume=columns["v"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"candles are not parallel number lists: {exc}",
                                    provider=self.name) from None

    async def fundamentals(self, symbol: str, as_of: str) -> Fundamentals:
        data = await self._object("/stock/metric", {"symbol": symbol, "metric": "all"})
        raw = data.get("metric")
        if not isinstance(raw, dict):
            raise MalformedResponse("stock/metric without a 'metric' object", provider=self.name)
        if not raw:
            raise DataUnavailable(f"no fundamentals for {symbol!r}", provider=self.name)
        metrics = {ours: float(raw[theirs]) / div for theirs, (ours, div) in METRICS.items()
                   if isinstance(raw.get(theirs), int | float) and not isinstance(raw[theirs], bool)}
        return Fundamentals(symbol=symbol, source="Finnhub /stock/metric (basic financials)",
                            period=f"trailing twelve months / latest annual, as of {as_of}",
                            metrics=metrics)

    async def news(self, symbol: str, start: str, end: str) -> list[Headline]:
        data = await self._http.get_json("/company-news", {"symbol": symbol, "from": start,
                                                           "to": end})
        if not isinstance(data, list):
            raise MalformedResponse("company-news is not a JSON list", provider=self.name)
        out = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("headline"), str):
                raise MalformedResponse(f"company-news item without a headline: {item!r:.80}",
                                        provider=self.name)
            out.append(Headline(date=_iso(_number(item.get("datetime"), "news.datetime",
                                                  self.name)),
                                headline=item["headline"], source=str(item.get("source") or
                                                                      "unknown"),
                                url=item.get("url") or None, summary=item.get("summary") or None))
        return sorted(out, key=lambda h: h.date)

    async def aclose(self) -> None:
        await self._http.aclose()
