"""Finnhub and Alpha Vantage providers against fakes speaking their wire formats on loopback."""

from __future__ import annotations

import logging

import pytest

from nodes.finance import config
from nodes.finance.alphavantage import AlphaVantageProvider
from nodes.finance.errors import (
    DataUnavailable,
    MalformedResponse,
    MarketConfigError,
    MarketDataError,
    RateLimited,
)
from nodes.finance.finnhub import FinnhubProvider
from nodes.finance.offline import OfflineProvider
from tests.nodes.finance.finance_fake_servers import (
    ALPHAVANTAGE_KEY,
    FINNHUB_KEY,
    FakeAlphaVantage,
    FakeFinnhub,
)
from tests.nodes.llm.llm_fake_servers import FAST_RETRY, Scripted, serving


def finnhub(url: str, key: str = FINNHUB_KEY) -> FinnhubProvider:
    return FinnhubProvider(api_key=key, base_url=url + "/api/v1", retry=FAST_RETRY, timeout=5)


def alphavantage(url: str, key: str = ALPHAVANTAGE_KEY) -> AlphaVantageProvider:
    return AlphaVantageProvider(api_key=key, base_url=url, retry=FAST_RETRY, timeout=5)


# -- Finnhub ----------------------------------------------------------------------------------


async def test_finnhub_daily_series_is_the_same_data_as_offline() -> None:
    fake = FakeFinnhub()
    async with serving(fake) as url:
        got = await finnhub(url).daily("AAPL", "2016-01-01", "2016-06-30")
    want = await OfflineProvider().daily("AAPL", "2016-01-01", "2016-06-30")
    assert got.dates == want.dates and got.close == want.close and got.volume == want.volume
    assert "token" not in fake.requests[0].query  # the key travels in a header only


async def test_finnhub_quote_metrics_and_news_are_parsed() -> None:
    async with serving(FakeFinnhub()) as url:
        p = finnhub(url)
        quote = await p.quote("AAPL")
        figures = await p.fundamentals("AAPL", "2016-06-30")
        news = await p.news("AAPL", "2016-04-01", "2016-06-30")
    assert (quote.price, quote.previous_close, quote.as_of) == (135.350006, 135.509995,
                                                                "2017-02-16")
    assert figures.metrics["pe"] == 10.37 and figures.metrics["net_margin"] == pytest.approx(0.2285)
    assert [h.date for h in news] == sorted(h.date for h in news)  # oldest first
    assert news[0].headline == "Apple Reports Second Quarter Results"


async def test_finnhub_429_is_retried_then_succeeds() -> None:
    fake = FakeFinnhub()
    fake.script.append(Scripted(status=429, body={"error": "API limit reached."},
                                headers={"Retry-After": "0"}))
    async with serving(fake) as url:
        quote = await finnhub(url).quote("AAPL")
    assert quote.price == 135.350006
    assert len(fake.requests) == 2


async def test_finnhub_persistent_429_raises_rate_limited_with_its_message() -> None:
    fake = FakeFinnhub()
    fake.failing["/quote"] = (429, {"error": "API limit reached. Please try again later."})
    async with serving(fake) as url:
        with pytest.raises(RateLimited, match="API limit reached") as info:
            await finnhub(url).quote("AAPL")
    assert info.value.status == 429 and info.value.retryable
    assert len(fake.requests) == FAST_RETRY.max_attempts


async def test_finnhub_bad_key_fails_at_once_with_the_providers_message() -> None:
    fake = FakeFinnhub()
    async with serving(fake) as url:
        with pytest.raises(MarketDataError, match="HTTP 401: Invalid API key") as info:
            await finnhub(url, key="wrong-key-123").quote("AAPL")
    assert len(fake.requests) == 1 and "wrong-key-123" not in str(info.value)


async def test_finnhub_no_data_is_data_unavailable() -> None:
    async with serving(FakeFinnhub()) as url:
        with pytest.raises(DataUnavailable, match="no daily prices for 'ZZZZ'"):
            await finnhub(url).daily("ZZZZ", "2016-01-01", "2016-06-30")


@pytest.mark.parametrize("payload", [
    {"s": "ok", "t": [1, 2], "c": [1.0]},                                   # lists missing
    {"s": "ok", "t": [1], "o": [1], "h": [1], "l": [1], "c": ["x"], "v": [1]},  # not a number
    {"s": "weird"},                                                          # unknown status
    [1, 2, 3],                                                               # not an object
    b"<html>502 Bad Gateway</html>",                                        # not JSON
])
async def test_finnhub_malformed_candles_are_malformed_response(payload: object,
                                                                anyio_backend: str) -> None:
    fake = FakeFinnhub()
    fake.script.append(Scripted(status=200, body=payload))
    async with serving(fake) as url:
        with pytest.raises(MalformedResponse):
            await finnhub(url).daily("AAPL", "2016-01-01", "2016-06-30")


async def test_finnhub_news_item_without_headline_is_malformed() -> None:
    fake = FakeFinnhub()
    fake.script.append(Scripted(status=200, body=[{"datetime": 1461700000, "source": "x"}]))
    async with serving(fake) as url:
        with pytest.raises(MalformedResponse, match="without a headline"):
            await finnhub(url).news("AAPL", "2016-04-01", "2016-06-30")


# -- Alpha Vantage ----------------------------------------------------------------------------


async def test_alphavantage_daily_quote_overview_and_news_are_parsed() -> None:
    fake = FakeAlphaVantage()
    async with serving(fake) as url:
        p = alphavantage(url)
        daily = await p.daily("AAPL", "2016-01-01", "2016-06-30")
        quote = await p.quote("AAPL")
        figures = await p.fundamentals("AAPL", "2016-06-30")
        news = await p.news("AAPL", "2016-04-01", "2016-06-30")
    want = await OfflineProvider().daily("AAPL", "2016-01-01", "2016-06-30")
    assert daily.dates == want.dates
    assert daily.close == [round(c, 4) for c in want.close]
    assert quote.price == 135.3500 and quote.as_of == "2017-02-16"
    assert figures.metrics["pe"] == 10.37
    assert figures.metrics["gross_margin"] == pytest.approx(93626 / 233715)
    assert "ps" not in figures.metrics  # "None" is not a number
    assert figures.period == "trailing twelve months to 2016-06-25"
    assert news[0].date == "2016-04-26"
    assert fake.params(fake.requests[0])["apikey"] == ALPHAVANTAGE_KEY


@pytest.mark.parametrize("field", ["Note", "Information"])
async def test_alphavantage_rate_limit_in_a_200_is_rate_limited(field: str,
                                                                 anyio_backend: str) -> None:
    fake = FakeAlphaVantage()
    fake.failing["GLOBAL_QUOTE"] = (200, {field: "Thank you for using Alpha Vantage! Our "
                                          "standard API rate limit is 25 requests per day."})
    async with serving(fake) as url:
        with pytest.raises(RateLimited, match="standard API rate limit") as info:
            await alphavantage(url).quote("AAPL")
    assert info.value.status == 200
    assert len(fake.requests) == 1  # a per-minute/day quota: retrying at once cannot help


async def test_alphavantage_error_message_is_a_market_data_error() -> None:
    async with serving(FakeAlphaVantage()) as url:
        with pytest.raises(MarketDataError, match="apikey is invalid"):
            await alphavantage(url, key="bad").quote("AAPL")


@pytest.mark.parametrize("payload", [
    {"Meta Data": {}},                                                       # no series
    {"Time Series (Daily)": {"2016-06-30": {"1. open": "None", "2. high": "1", "3. low": "1",
                                            "4. close": "1", "5. volume": "1"}}},
    {"Time Series (Daily)": {"2016-06-30": "garbage"}},
])
async def test_alphavantage_malformed_series_is_malformed_response(payload: object,
                                                                   anyio_backend: str) -> None:
    fake = FakeAlphaVantage()
    fake.script.append(Scripted(status=200, body=payload))
    async with serving(fake) as url:
        with pytest.raises(MalformedResponse):
            await alphavantage(url).daily("AAPL", "2016-01-01", "2016-06-30")


async def test_api_keys_never_reach_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # httpx's own logger too: a CLI test run in this process quiets it (`actorflow`
    # shows no line per request), and this test needs its lines to check them.
    caplog.set_level(logging.DEBUG, logger="httpx")
    av = FakeAlphaVantage()
    av.failing["OVERVIEW"] = (503, {"Error Message": "down"})
    fh = FakeFinnhub()
    fh.failing["/stock/metric"] = (500, {"error": "boom"})
    errors = []
    async with serving(av) as av_url, serving(fh) as fh_url:
        await alphavantage(av_url).daily("AAPL", "2016-01-01", "2016-02-01")
        await finnhub(fh_url).daily("AAPL", "2016-01-01", "2016-02-01")
        for call in (alphavantage(av_url).fundamentals, finnhub(fh_url).fundamentals):
            with pytest.raises(MarketDataError) as info:
                await call("AAPL", "2016-06-30")
            errors.append(info.value)
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(map(str, errors))
    assert ALPHAVANTAGE_KEY not in text and FINNHUB_KEY not in text
    assert av.params(av.requests[0])["apikey"] == ALPHAVANTAGE_KEY  # yet it was sent


async def test_a_provider_that_echoes_the_key_in_its_error_does_not_leak_it() -> None:
    # A run's error is shown to API clients: what the provider says back about the
    # request (its URL with ?apikey=..., its token header) must not carry the key.
    av = FakeAlphaVantage()
    av.failing["OVERVIEW"] = (400, {"Error Message": f"Invalid API call: /query?function="
                                                    f"OVERVIEW&apikey={ALPHAVANTAGE_KEY}"})
    av.failing["GLOBAL_QUOTE"] = (200, {"Error Message": f"bad call, apikey={ALPHAVANTAGE_KEY}"})
    fh = FakeFinnhub()
    fh.failing["/quote"] = (403, {"error": f"token {FINNHUB_KEY} may not read quotes"})
    errors = []
    async with serving(av) as av_url, serving(fh) as fh_url:
        for call in (lambda: alphavantage(av_url).fundamentals("AAPL", "2016-06-30"),
                     lambda: alphavantage(av_url).quote("AAPL"),
                     lambda: finnhub(fh_url).quote("AAPL")):
            with pytest.raises(MarketDataError) as info:
                await call()
            errors.append(str(info.value))
    assert "apikey=***" in errors[0] and "apikey=***" in errors[1], errors
    assert "token *** may not" in errors[2], errors
    assert not any(ALPHAVANTAGE_KEY in e or FINNHUB_KEY in e for e in errors)


# -- configuration ----------------------------------------------------------------------------


def test_offline_is_the_default_provider() -> None:
    assert isinstance(config.market_provider_from_env({}), OfflineProvider)


def test_providers_are_chosen_by_environment() -> None:
    fh = config.market_provider_from_env({"ACTORFLOW_MARKET_PROVIDER": "finnhub",
                                          "FINNHUB_API_KEY": "k"})
    av = config.market_provider_from_env({"ACTORFLOW_MARKET_PROVIDER": "AlphaVantage",
                                          "ALPHAVANTAGE_API_KEY": "k"})
    assert isinstance(fh, FinnhubProvider) and isinstance(av, AlphaVantageProvider)


@pytest.mark.parametrize(("env", "variable"), [
    ({"ACTORFLOW_MARKET_PROVIDER": "finnhub"}, "FINNHUB_API_KEY"),
    ({"ACTORFLOW_MARKET_PROVIDER": "alphavantage", "ALPHAVANTAGE_API_KEY": " "},
     "ALPHAVANTAGE_API_KEY"),
    ({"ACTORFLOW_MARKET_PROVIDER": "bloomberg"}, "ACTORFLOW_MARKET_PROVIDER"),
    ({"ACTORFLOW_MARKET_PROVIDER": "finnhub", "FINNHUB_API_KEY": "k",
      "ACTORFLOW_FINNHUB_BASE_URL": "ftp://x"}, "ACTORFLOW_FINNHUB_BASE_URL"),
    ({"ACTORFLOW_MARKET_PROVIDER": "finnhub", "FINNHUB_API_KEY": "k",
      "ACTORFLOW_MARKET_TIMEOUT": "-1"}, "ACTORFLOW_MARKET_TIMEOUT"),
])
def test_bad_configuration_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(MarketConfigError) as info:
        config.market_provider_from_env(env)
    assert info.value.variable == variable and variable in str(info.value)
