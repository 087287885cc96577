"""Indicators against references on the shipped AAPL data: the ``ta`` library, the Bollinger
values published with the data set, and windows checked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import ta

from nodes.finance import indicators as ind
from nodes.finance.offline import _data, load_prices

CLOSE = load_prices().close
SERIES = pd.Series(CLOSE)
#: The EMA-based references (ta) seed with the first value, ours with the first SMA
#: (TA-Lib's convention): the two differ by (1 - alpha)^n, below 1e-8 after 300 bars.
SETTLED = 300


def close_to(mine: list[float | None], reference: list[float], start: int,
             tol: float) -> None:
    assert len(mine) == len(reference)
    for i in range(start, len(mine)):
        value = mine[i]
        assert value is not None, f"undefined at {i}"
        assert value == pytest.approx(reference[i], abs=tol), f"index {i}"


def test_sma_matches_ta_everywhere_it_is_defined() -> None:
    mine = ind.sma(CLOSE, 20)
    assert mine[:19] == [None] * 19
    close_to(mine, ta.trend.SMAIndicator(SERIES, 20).sma_indicator().tolist(), 19, 1e-9)


def test_sma_first_window_by_hand() -> None:
    assert ind.sma(CLOSE, 3)[2] == pytest.approx((127.830002 + 128.720001 + 128.449997) / 3)


def test_ema_matches_ta_once_the_seed_has_decayed_and_seeds_with_the_sma() -> None:
    mine = ind.ema(CLOSE, 20)
    close_to(mine, ta.trend.EMAIndicator(SERIES, 20).ema_indicator().tolist(), SETTLED, 1e-8)
    assert mine[19] == pytest.approx(sum(CLOSE[:20]) / 20)
    assert mine[20] == pytest.approx(2 / 21 * CLOSE[20] + 19 / 21 * mine[19])


def test_rsi_matches_ta_and_its_first_value_is_wilders_seed() -> None:
    mine = ind.rsi(CLOSE, 14)
    close_to(mine, ta.momentum.RSIIndicator(SERIES, 14).rsi().tolist(), SETTLED, 1e-6)
    changes = [CLOSE[i] - CLOSE[i - 1] for i in range(1, 15)]
    gain = sum(c for c in changes if c > 0) / 14
    loss = sum(-c for c in changes if c < 0) / 14
    assert mine[13] is None
    assert mine[14] == pytest.approx(100 - 100 / (1 + gain / loss))


def test_macd_line_signal_and_histogram_match_ta() -> None:
    line, signal, hist = ind.macd(CLOSE)
    ref = ta.trend.MACD(SERIES)
    close_to(line, ref.macd().tolist(), SETTLED, 1e-8)
    close_to(signal, ref.macd_signal().tolist(), SETTLED, 1e-8)
    close_to(hist, ref.macd_diff().tolist(), SETTLED, 1e-8)
    assert signal[33] is not None and signal[32] is None  # 26 + 9 - 2


def test_bollinger_matches_ta() -> None:
    lower, mid, upper = ind.bollinger(CLOSE, 20, 2)
    ref = ta.volatility.BollingerBands(SERIES, 20, 2)
    close_to(lower, ref.bollinger_lband().tolist(), 19, 1e-9)
    close_to(mid, ref.bollinger_mavg().tolist(), 19, 1e-9)
    close_to(upper, ref.bollinger_hband().tolist(), 19, 1e-9)


def test_bollinger_matches_the_bands_published_with_the_data() -> None:
    # plotly's columns dn/mavg/up: 20-day bands of the typical price (high+low+close)/3.
    rows = [line.split(",") for line in _data("finance-charts-apple.csv").splitlines()[1:]]
    typical = [(float(r[2]) + float(r[3]) + float(r[4])) / 3 for r in rows]
    lower, mid, upper = ind.bollinger(typical, 20, 2)
    for i in range(19, len(rows)):
        assert mid[i] == pytest.approx(float(rows[i][8]), abs=1e-6)
        assert upper[i] == pytest.approx(float(rows[i][9]), abs=1e-6)
        assert lower[i] == pytest.approx(float(rows[i][7]), abs=1e-6)


def test_volatility_matches_pandas_rolling_std_of_log_returns() -> None:
    ref = (SERIES.apply(math.log).diff().rolling(20).std() * math.sqrt(252)).tolist()
    close_to(ind.volatility(CLOSE, 20), ref, 20, 1e-12)


def test_max_drawdown_by_hand_and_against_a_running_peak() -> None:
    dd = ind.max_drawdown([10, 12, 9, 11, 6, 8, 13, 7])
    assert (dd.depth, dd.peak_index, dd.trough_index) == (pytest.approx(0.5), 1, 4)
    assert ind.max_drawdown([1, 2, 3]).depth == 0
    peaks = SERIES.cummax()
    assert ind.max_drawdown(CLOSE).depth == pytest.approx((1 - SERIES / peaks).max())


def test_windows_longer_than_the_data_give_no_values() -> None:
    assert ind.sma([1.0, 2.0], 3) == [None, None]
    assert ind.rsi([1.0, 2.0], 14) == [None, None]
    with pytest.raises(ValueError, match="window must be >= 1"):
        ind.sma([1.0], 0)
