"""Each analysis on the real shipped data (AAPL, as of 2016-06-30)."""

from __future__ import annotations

import pandas as pd
import pytest
import ta

from nodes.finance.fundamentals import analyze_fundamentals, ratios_from_items
from nodes.finance.models import Fundamentals, Headline
from nodes.finance.news import analyze_news, categorize
from nodes.finance.offline import OfflineProvider, load_prices
from nodes.finance.sentiment import analyze_sentiment, compound
from nodes.finance.technical import InsufficientHistory, analyze_technical

AS_OF = "2016-06-30"
PRICES = load_prices().until(AS_OF)


def test_technical_values_are_the_indicators_at_the_last_bar() -> None:
    result = analyze_technical(PRICES)
    v = result["indicators"]
    s = pd.Series(PRICES.close)
    assert v["date"] == AS_OF and v["close"] == 95.599998
    assert v["sma_50"] == pytest.approx(s.tail(50).mean(), abs=1e-4)
    assert v["sma_200"] == pytest.approx(s.tail(200).mean(), abs=1e-4)
    assert v["rsi_14"] == pytest.approx(ta.momentum.RSIIndicator(s).rsi().iloc[-1], abs=0.01)
    assert v["macd_hist"] == pytest.approx(ta.trend.MACD(s).macd_diff().iloc[-1], abs=1e-4)
    # AAPL's fall from its 2015-02-23 high (133.00) to 2016-05-12 (90.34): -32.1%.
    assert (v["drawdown_peak"], v["drawdown_trough"]) == ("2015-02-23", "2016-05-12")
    assert v["max_drawdown"] == pytest.approx(1 - 90.339996 / 133.0, abs=1e-4)


def test_technical_signals_explain_a_bearish_score_in_mid_2016() -> None:
    result = analyze_technical(PRICES)
    signals = {s["name"]: s for s in result["signals"]}
    assert set(signals) == {"trend", "golden_cross", "macd", "rsi", "momentum"}
    assert signals["trend"]["contribution"] == -1.0   # 9% below its 200-day average
    assert signals["rsi"]["contribution"] == 0.0      # 47.6: neither over- nor oversold
    assert result["score"] == pytest.approx(
        sum(s["contribution"] for s in result["signals"]) / 5, abs=1e-4)
    assert result["score"] < -0.5


def test_technical_on_short_history_skips_the_200_day_signals_or_refuses() -> None:
    short = PRICES.model_copy(update={k: getattr(PRICES, k)[-60:] for k in
                                      ("dates", "open", "high", "low", "close", "volume")})
    assert analyze_technical(short)["skipped"] == ["trend", "golden_cross", "momentum"]
    tiny = short.model_copy(update={k: getattr(short, k)[-10:] for k in
                                    ("dates", "open", "high", "low", "close", "volume")})
    with pytest.raises(InsufficientHistory, match="at least 35 daily bars, got 10"):
        analyze_technical(tiny)


async def test_fundamentals_as_of_mid_2016_are_fiscal_2015_ratios_at_the_days_price() -> None:
    figures = await OfflineProvider().fundamentals("AAPL", AS_OF)
    result = analyze_fundamentals(figures, 95.599998)
    r = result["ratios"]
    assert result["period"] == "FY2015 (2014-09-28 to 2015-09-26)"
    assert r["pe"] == pytest.approx(95.599998 / 9.22, abs=1e-4)
    assert r["net_margin"] == pytest.approx(53394 / 233715, abs=1e-4)
    assert r["revenue_growth"] == pytest.approx(233715 / 182795 - 1, abs=1e-4)
    assert r["debt_to_equity"] == pytest.approx((8499 + 2500 + 53463) / 119355, abs=1e-4)
    assert r["current_ratio"] == pytest.approx(89378 / 80610, abs=1e-4)
    assert r["fcf_yield"] == pytest.approx((81266 - 11247) / (95.599998 * 5578753 / 1000),
                                           abs=1e-4)
    assert result["missing"] == [] and result["score"] > 0.5


async def test_fundamentals_follow_the_filing_date_not_the_period() -> None:
    p = OfflineProvider()
    assert (await p.fundamentals("AAPL", "2016-10-25")).period.startswith("FY2015")
    assert (await p.fundamentals("AAPL", "2016-10-26")).period.startswith("FY2016")


def test_provider_ratios_are_used_when_there_are_no_line_items() -> None:
    figures = Fundamentals(symbol="X", source="s", period="TTM",
                           metrics={"pe": 30.0, "net_margin": 0.05})
    result = analyze_fundamentals(figures, 10.0)
    assert result["basis"] == "the provider's own ratios"
    assert [s["contribution"] for s in result["signals"]] == [-1.0, -0.5]
    assert "revenue_growth" in result["missing"]
    assert ratios_from_items({}, 10.0) == {}


def test_vader_scores_real_headlines_with_its_shipped_lexicon() -> None:
    # "illegal" is negative in the lexicon, "benefits" positive: slightly negative overall,
    # inside VADER's neutral band (-0.05, 0.05).
    assert -0.05 < compound("State aid: Ireland gave illegal tax benefits to Apple worth up "
                            "to €13 billion") < 0
    assert compound("Apple introduces iPhone 7 & iPhone 7 Plus — the best, most advanced "
                    "iPhone ever") > 0.05


async def test_sentiment_of_the_news_window_counts_and_averages() -> None:
    headlines = await OfflineProvider().news("AAPL", "2016-08-01", "2016-09-30")
    result = analyze_sentiment(headlines)
    assert result["counts"] == {"positive": 1, "negative": 0, "neutral": 1}
    values = [h["compound"] for h in result["headlines"]]
    assert result["mean_compound"] == pytest.approx(sum(values) / 2, abs=1e-4)
    with pytest.raises(ValueError, match="no headlines"):
        analyze_sentiment([])


def test_news_categories_by_keyword() -> None:
    assert categorize("Apple Reports Second Quarter Results") == ["earnings"]
    assert categorize("State aid: Ireland gave illegal tax benefits to Apple") == [
        "legal_regulatory"]
    assert categorize("Apple Previews iOS 10, the Biggest iOS Release Ever") == ["product"]
    assert categorize("Nothing here") == ["other"]


async def test_news_reaction_is_the_two_day_move_around_each_headline() -> None:
    headlines = await OfflineProvider().news("AAPL", "2016-04-01", AS_OF)
    result = analyze_news(headlines, PRICES)
    q2 = next(h for h in result["headlines"] if h["date"] == "2016-04-26")
    # Results came after the close of 04-26: from 04-25's close to 04-27's.
    assert q2["reaction"] == pytest.approx(97.82 / 105.080002 - 1, abs=1e-4)
    assert result["biggest_moves"][0]["date"] == "2016-04-27"
    assert result["score"] == -1.0  # a -3.7% mean move around the news, clamped


def test_news_without_prices_still_categorizes() -> None:
    result = analyze_news([Headline(date="2016-01-01", headline="Apple sued", source="x")], None)
    assert result["signals"] == [] and result["score"] == 0.0
    assert result["category_counts"] == {"legal_regulatory": 1}
