"""Technical analysis of daily prices: trend, momentum, volatility, drawdown.

Values are taken at the last bar. The score is the mean of these signals
(each in [-1, 1], positive = bullish):

=================  ==========================================================
signal             contribution
=================  ==========================================================
``trend``          close vs SMA(200): ``(close / sma200 - 1) / 5%``
``golden_cross``   SMA(50) vs SMA(200): ``(sma50 / sma200 - 1) / 3%``
``macd``           MACD histogram as a share of price: ``hist / close / 0.5%``
``rsi``            RSI(14) above 70 (overbought): ``-(rsi - 70) / 30``;
                   below 30 (oversold): ``(30 - rsi) / 30``; else 0
``momentum``       3-month (63-bar) return: ``return / 15%``
=================  ==========================================================

Volatility (20- and 60-day, annualised), Bollinger %b and the maximum drawdown
are reported as risk measures but do not move the score. Signals that need
more history than there is (SMA(200) needs 200 bars) are left out and named
in ``skipped``.
"""

from __future__ import annotations

from typing import Any

from . import indicators as ind
from .models import PriceSeries
from .signals import mean_score, signal

__all__ = ["MIN_BARS", "InsufficientHistory", "analyze_technical"]

#: MACD(12, 26, 9) needs 34 bars for its first histogram value.
MIN_BARS = 35


class InsufficientHistory(ValueError):
    """Too few bars for the indicators."""


def _last(series: list[float | None]) -> float | None:
    return series[-1] if series else None


def _r(x: float | None, places: int = 4) -> float | None:
    return None if x is None else round(x, places)


def analyze_technical(prices: PriceSeries) -> dict[str, Any]:
    """Indicators at the last bar, the signals they give, and a score in [-1, 1].

    Raises:
        InsufficientHistory: with fewer than :data:`MIN_BARS` bars.
    """
    n = len(prices)
    if n < MIN_BARS:
        raise InsufficientHistory(f"technical analysis needs at least {MIN_BARS} daily bars, "
                                  f"got {n}: widen lookback_days")
    c = prices.close
    close = c[-1]
    lower, mid, upper = ind.bollinger(c, 20, 2.0)
    line, sig, hist = ind.macd(c)
    dd = ind.max_drawdown(c)
    values: dict[str, Any] = {
        "close": close, "date": prices.dates[-1], "bars": n,
        "sma_20": _r(_last(ind.sma(c, 20))), "sma_50": _r(_last(ind.sma(c, 50))),
        "sma_200": _r(_last(ind.sma(c, 200))),
        "ema_12": _r(_last(ind.ema(c, 12))), "ema_26": _r(_last(ind.ema(c, 26))),
        "rsi_14": _r(_last(ind.rsi(c, 14)), 2),
        "macd": _r(_last(line)), "macd_signal": _r(_last(sig)), "macd_hist": _r(_last(hist)),
        "bollinger_lower": _r(lower[-1]), "bollinger_middle": _r(mid[-1]),
        "bollinger_upper": _r(upper[-1]),
        "volatility_20d": _r(_last(ind.volatility(c, 20))),
        "volatility_60d": _r(_last(ind.volatility(c, 60))) if n > 60 else None,
        "max_drawdown": round(dd.depth, 4), "drawdown_peak": prices.dates[dd.peak_index],
        "drawdown_trough": prices.dates[dd.trough_index],
        "return_1m": round(close / c[-22] - 1, 4) if n > 21 else None,
        "return_3m": round(close / c[-64] - 1, 4) if n > 63 else None,
    }
    if lower[-1] is not None and upper[-1] is not None and upper[-1] > lower[-1]:
        values["bollinger_pct_b"] = round((close - lower[-1]) / (upper[-1] - lower[-1]), 4)
    signals, skipped = _signals(values)
    return {"indicators": values, "signals": signals, "skipped": skipped,
            "score": mean_score(signals), "summary": _summary(values, mean_score(signals))}


def _signals(v: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    skipped: list[str] = []
    close = v["close"]
    if v["sma_200"] is not None:
        gap = close / v["sma_200"] - 1
        out.append(signal("trend", gap, gap / 0.05,
                          f"close {close:.2f} is {gap:+.1%} from its 200-day average "
                          f"{v['sma_200']:.2f}"))
        gap50 = v["sma_50"] / v["sma_200"] - 1
        out.append(signal("golden_cross", gap50, gap50 / 0.03,
                          f"50-day average {v['sma_50']:.2f} is {gap50:+.1%} from the "
                          f"200-day average"))
    else:
        skipped += ["trend", "golden_cross"]
    rel = v["macd_hist"] / close
    out.append(signal("macd", v["macd_hist"], rel / 0.005,
                      f"MACD histogram {v['macd_hist']:+.3f} (MACD {v['macd']:.3f} vs signal "
                      f"{v['macd_signal']:.3f})"))
    rsi = v["rsi_14"]
    contribution = -(rsi - 70) / 30 if rsi > 70 else (30 - rsi) / 30 if rsi < 30 else 0.0
    state = "overbought" if rsi > 70 else "oversold" if rsi < 30 else "neutral"
    out.append(signal("rsi", rsi, contribution, f"RSI(14) {rsi:.1f} is {state}"))
    if v["return_3m"] is not None:
        out.append(signal("momentum", v["return_3m"], v["return_3m"] / 0.15,
                          f"3-month return {v['return_3m']:+.1%}"))
    else:
        skipped.append("momentum")
    return out, skipped


def _summary(v: dict[str, Any], score: float) -> str:
    sma200 = f"{v['sma_200']:.2f}" if v["sma_200"] is not None else "n/a"
    vol = f"{v['volatility_20d']:.1%}" if v["volatility_20d"] is not None else "n/a"
    return (f"close {v['close']:.2f} on {v['date']}, SMA50 {v['sma_50']:.2f}, SMA200 {sma200}, "
            f"RSI {v['rsi_14']:.1f}, MACD hist {v['macd_hist']:+.3f}, 20d vol {vol}, "
            f"max drawdown {v['max_drawdown']:.1%}; score {score:+.2f}")
