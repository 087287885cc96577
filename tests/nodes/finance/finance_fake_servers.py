"""Fake Finnhub and Alpha Vantage servers: real HTTP on loopback, real data, their wire formats.

Each fake answers from the data shipped with the offline provider (AAPL daily
prices 2015-2017, headlines), converted into the provider's documented format,
so a workflow run against a fake analyses the same real numbers as offline.
``failing`` makes chosen endpoints fail on every request (an outage or a rate
limit that starts mid-run); the base class's ``script`` scripts the next answers.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

import anyio

from nodes.finance.offline import _headlines, load_prices
from tests.nodes.llm.llm_fake_servers import FakeServer, Recorded

FINNHUB_KEY = "fh-test-key-0123456789"
ALPHAVANTAGE_KEY = "av-test-key-9876543210"

#: Finnhub basic financials for AAPL (values of the kind the API returns; percent units).
FINNHUB_METRIC = {"peTTM": 10.37, "pbAnnual": 4.47, "psTTM": 2.28, "netProfitMarginTTM": 22.85,
                  "grossMarginTTM": 40.06, "operatingMarginTTM": 30.48, "roeTTM": 44.74,
                  "totalDebt/totalEquityAnnual": 0.54, "currentRatioAnnual": 1.11,
                  "revenueGrowthTTMYoy": 27.86, "epsGrowthTTMYoy": 42.95,
                  "dividendYieldIndicatedAnnual": 2.07}


def _unix(day: str) -> int:
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _day(ts: str) -> str:
    return datetime.fromtimestamp(int(ts), tz=UTC).date().isoformat()


class _Fake(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.failing: dict[str, tuple[int, Any]] = {}
        self.latency = 0.0  # seconds before each answer (the benchmark's network round trip)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.latency:
            await anyio.sleep(self.latency)
        await super().__call__(scope, receive, send)

    @staticmethod
    def params(request: Recorded) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(request.query).items()}

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class FakeFinnhub(_Fake):
    """``/api/v1/{quote,stock/candle,stock/metric,company-news}`` like Finnhub."""

    def answer(self, request: Recorded) -> tuple[int, Any]:
        if request.headers.get("x-finnhub-token") != FINNHUB_KEY:
            return 401, {"error": "Invalid API key"}
        path = request.path.removeprefix("/api/v1")
        if path in self.failing:
            return self.failing[path]
        q = self.params(request)
        prices = load_prices()
        if path == "/quote":
            return 200, {"c": prices.close[-1], "d": prices.close[-1] - prices.close[-2],
                         "dp": 0.0, "h": prices.high[-1], "l": prices.low[-1],
                         "o": prices.open[-1], "pc": prices.close[-2],
                         "t": _unix(prices.dates[-1])}
        if path == "/stock/candle":
            if q.get("symbol") != "AAPL":
                return 200, {"s": "no_data"}
            lo, hi = _day(q["from"]), _day(q["to"])
            idx = [i for i, d in enumerate(prices.dates) if lo <= d <= hi]
            if not idx:
                return 200, {"s": "no_data"}
            return 200, {"s": "ok", "t": [_unix(prices.dates[i]) for i in idx],
                         **{k: [getattr(prices, f)[i] for i in idx] for k, f in
                            (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"),
                             ("v", "volume"))}}
        if path == "/stock/metric":
            return 200, {"metric": FINNHUB_METRIC if q.get("symbol") == "AAPL" else {},
                         "metricType": "all", "series": {}, "symbol": q.get("symbol")}
        if path == "/company-news":
            items = [h for h in _headlines() if q["from"] <= h.date <= q["to"]]
            return 200, [{"category": "company", "datetime": _unix(h.date) + 13 * 3600,
                          "headline": h.headline, "id": i, "image": "", "related": "AAPL",
                          "source": h.source, "summary": "", "url": f"https://example.org/{i}"}
                         for i, h in enumerate(reversed(items))]  # newest first, as Finnhub
        return 404, {"error": f"unknown endpoint {request.path}"}


class FakeAlphaVantage(_Fake):
    """``/query?function=...&apikey=...`` like Alpha Vantage (errors as HTTP 200)."""

    def answer(self, request: Recorded) -> tuple[int, Any]:
        q = self.params(request)
        if request.path != "/query":
            return 404, {"Error Message": "not found"}
        if q.get("apikey") != ALPHAVANTAGE_KEY:
            return 200, {"Error Message": "the parameter apikey is invalid or missing."}
        function = q.get("function", "")
        if function in self.failing:
            return self.failing[function]
        prices = load_prices()
        if function == "GLOBAL_QUOTE":
            return 200, {"Global Quote": {
                "01. symbol": q["symbol"], "02. open": f"{prices.open[-1]:.4f}",
                "05. price": f"{prices.close[-1]:.4f}", "06. volume": str(int(prices.volume[-1])),
                "07. latest trading day": prices.dates[-1],
                "08. previous close": f"{prices.close[-2]:.4f}"}}
        if function == "TIME_SERIES_DAILY":
            return 200, {"Meta Data": {"1. Information": "Daily Prices (open, high, low, close) "
                                       "and Volumes", "2. Symbol": q["symbol"]},
                         "Time Series (Daily)": {
                             d: {"1. open": f"{prices.open[i]:.4f}",
                                 "2. high": f"{prices.high[i]:.4f}",
                                 "3. low": f"{prices.low[i]:.4f}",
                                 "4. close": f"{prices.close[i]:.4f}",
                                 "5. volume": str(int(prices.volume[i]))}
                             for i, d in reversed(list(enumerate(prices.dates)))}}
        if function == "OVERVIEW":
            return 200, {"Symbol": "AAPL", "PERatio": "10.37", "PriceToBookRatio": "4.47",
                         "ProfitMargin": "0.228", "OperatingMarginTTM": "0.305",
                         "ReturnOnEquityTTM": "0.447", "QuarterlyRevenueGrowthYOY": "-0.128",
                         "DividendYield": "0.0207", "RevenueTTM": "233715000000",
                         "GrossProfitTTM": "93626000000", "LatestQuarter": "2016-06-25",
                         "EPS": "9.22", "PriceToSalesRatioTTM": "None"}
        if function == "NEWS_SENTIMENT":
            lo, hi = q["time_from"][:8], q["time_to"][:8]
            items = [h for h in _headlines() if lo <= h.date.replace("-", "") <= hi]
            return 200, {"items": str(len(items)), "feed": [
                {"title": h.headline, "url": "https://example.org/a",
                 "time_published": h.date.replace("-", "") + "T133000", "summary": "",
                 "source": h.source, "overall_sentiment_score": 0.0} for h in items]}
        return 200, {"Error Message": f"Invalid API call: {function}"}


def dumps(x: Any) -> bytes:
    return json.dumps(x).encode()
