"""Technical indicators in pure Python, each the textbook definition.

Every function takes a list of floats (oldest first) and returns a list of the
same length with ``None`` where the indicator is not defined yet (its warm-up).
The tests compare each one with a reference implementation (the ``ta`` library)
and with the Bollinger values published alongside the shipped price data.

* :func:`sma` - simple moving average.
* :func:`ema` - exponential moving average, ``alpha = 2 / (n + 1)``, seeded with
  the SMA of the first ``n`` values (as TA-Lib and StockCharts do).
* :func:`rsi` - Wilder's relative strength index: average gain and loss seeded
  with the simple mean of the first ``n`` changes, then smoothed with
  ``alpha = 1 / n``.
* :func:`macd` - EMA(fast) - EMA(slow), its EMA(signal), and the histogram.
* :func:`bollinger` - SMA(n) +- k population standard deviations.
* :func:`volatility` - annualised standard deviation of daily log returns.
* :func:`max_drawdown` - the largest peak-to-trough fall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Drawdown", "bollinger", "ema", "macd", "max_drawdown", "rsi", "sma",
           "volatility"]

Series = list[float | None]
TRADING_DAYS = 252


def _check_window(n: int) -> None:
    if n < 1:
        raise ValueError(f"window must be >= 1, got {n}")


def sma(values: Sequence[float], n: int) -> Series:
    """Mean of the last ``n`` values."""
    _check_window(n)
    out: Series = [None] * len(values)
    total = 0.0
    for i, v in enumerate(values):
        total += v
        if i >= n:
            total -= values[i - n]
        if i >= n - 1:
            out[i] = total / n
    return out


def _ema_from(values: Sequence[float], n: int, alpha: float) -> Series:
    out: Series = [None] * len(values)
    if len(values) < n:
        return out
    prev = sum(values[:n]) / n
    out[n - 1] = prev
    for i in range(n, len(values)):
        prev = alpha * values[i] + (1 - alpha) * prev
        out[i] = prev
    return out


def ema(values: Sequence[float], n: int) -> Series:
    """Exponential moving average with ``alpha = 2/(n+1)``, SMA-seeded."""
    _check_window(n)
    return _ema_from(values, n, 2 / (n + 1))


def rsi(values: Sequence[float], n: int = 14) -> Series:
    """Wilder's RSI (0-100); defined from index ``n`` (it needs ``n`` changes)."""
    _check_window(n)
    out: Series = [None] * len(values)
    if len(values) <= n:
        return out
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n
    out[n] = _rsi_value(gain, loss)
    for i in range(n, len(changes)):
        c = changes[i]
        gain = (gain * (n - 1) + max(c, 0.0)) / n
        loss = (loss * (n - 1) + max(-c, 0.0)) / n
        out[i + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    if loss == 0:
        return 100.0 if gain > 0 else 50.0
    return 100 - 100 / (1 + gain / loss)


def macd(values: Sequence[float], fast: int = 12, slow: int = 26,
         signal: int = 9) -> tuple[Series, Series, Series]:
    """``(macd line, signal line, histogram)``."""
    if fast >= slow:
        raise ValueError(f"fast ({fast}) must be shorter than slow ({slow})")
    ef, es = ema(values, fast), ema(values, slow)
    line: Series = [f - s if f is not None and s is not None else None
                    for f, s in zip(ef, es, strict=True)]
    start = slow - 1
    defined = [v for v in line[start:] if v is not None]
    sig: Series = [None] * len(values)
    for i, v in enumerate(_ema_from(defined, signal, 2 / (signal + 1))):
        sig[start + i] = v
    hist: Series = [m - s if m is not None and s is not None else None
                    for m, s in zip(line, sig, strict=True)]
    return line, sig, hist


def bollinger(values: Sequence[float], n: int = 20,
              k: float = 2.0) -> tuple[Series, Series, Series]:
    """``(lower, middle, upper)``: SMA(n) -+ k population standard deviations."""
    mid = sma(values, n)
    lower: Series = [None] * len(values)
    upper: Series = [None] * len(values)
    for i, m in enumerate(mid):
        if m is None:
            continue
        window = values[i - n + 1:i + 1]
        sd = math.sqrt(sum((v - m) ** 2 for v in window) / n)
        lower[i], upper[i] = m - k * sd, m + k * sd
    return lower, mid, upper


def volatility(values: Sequence[float], n: int = 20) -> Series:
    """Annualised volatility: sample std of the last ``n`` daily log returns x sqrt(252)."""
    if n < 2:
        raise ValueError(f"window must be >= 2, got {n}")
    returns = [math.log(values[i] / values[i - 1]) for i in range(1, len(values))]
    out: Series = [None] * len(values)
    for i in range(n - 1, len(returns)):
        window = returns[i - n + 1:i + 1]
        mean = sum(window) / n
        var = sum((r - mean) ** 2 for r in window) / (n - 1)
        out[i + 1] = math.sqrt(var) * math.sqrt(TRADING_DAYS)
    return out


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest fall from a running peak: ``depth`` is a fraction (0.25 = -25%)."""

    depth: float
    peak_index: int
    trough_index: int


def max_drawdown(values: Sequence[float]) -> Drawdown:
    """The largest peak-to-trough fall of ``values`` (0 when it never falls)."""
    if not values:
        raise ValueError("max_drawdown needs at least one value")
    best = Drawdown(0.0, 0, 0)
    peak_i = 0
    for i, v in enumerate(values):
        if v > values[peak_i]:
            peak_i = i
        depth = 1 - v / values[peak_i]
        if depth > best.depth:
            best = Drawdown(depth, peak_i, i)
    return best
