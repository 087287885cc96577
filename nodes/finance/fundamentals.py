"""Fundamental analysis: ratios with the period they come from, and what they say.

Ratios are computed from statement line items when the provider has them (the
offline 10-K figures) at the run's price, or taken from the provider's own
ratios (Finnhub, Alpha Vantage); ``basis`` says which, ``period`` and
``source`` say from when and where.

=================  ===================================  ================================
ratio              from line items                      contribution to the score
=================  ===================================  ================================
``pe``             price / diluted EPS                  ``(20 - pe) / 10``
``net_margin``     net income / revenue                 ``(margin - 10%) / 10%``
``revenue_growth`` revenue / prior-year revenue - 1     ``growth / 10%``
``debt_to_equity`` (CP + term debt) / equity            ``(1 - d/e) / 1``
``current_ratio``  current assets / current liabilities ``current ratio - 1``
``fcf_yield``      (operating cash flow - capex) / cap  ``(yield - 4%) / 4%``
=================  ===================================  ================================

Also reported, without moving the score: ``pb``, ``ps``, ``gross_margin``,
``operating_margin``, ``roe``, ``eps_growth``, ``dividend_yield``,
``market_cap`` and ``net_cash`` (cash and marketable securities less debt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models import Fundamentals
from .signals import mean_score, signal

__all__ = ["analyze_fundamentals", "ratios_from_items"]

_SCORED: dict[str, tuple[Callable[[float], float], Callable[[float], str]]] = {
    "pe": (lambda x: (20 - x) / 10, lambda x: f"P/E {x:.1f}"),
    "net_margin": (lambda x: (x - 0.10) / 0.10, lambda x: f"net margin {x:.1%}"),
    "revenue_growth": (lambda x: x / 0.10, lambda x: f"revenue growth {x:+.1%}"),
    "debt_to_equity": (lambda x: 1 - x, lambda x: f"debt/equity {x:.2f}"),
    "current_ratio": (lambda x: x - 1, lambda x: f"current ratio {x:.2f}"),
    "fcf_yield": (lambda x: (x - 0.04) / 0.04, lambda x: f"free-cash-flow yield {x:.1%}"),
}


def ratios_from_items(items: dict[str, float], price: float) -> dict[str, float]:
    """The ratios that ``items`` (10-K line items, millions) support at ``price``."""
    g = items.get
    out: dict[str, float] = {}

    def put(name: str, num: float | None, den: float | None) -> None:
        if num is not None and den:
            out[name] = num / den

    shares = g("shares_outstanding_thousands") or g("shares_diluted_thousands")
    cap = price * shares / 1000 if shares else None  # millions, like the items
    debt = sum(g(k) or 0.0 for k in ("commercial_paper", "current_term_debt", "long_term_debt"))
    put("pe", price, g("eps_diluted"))
    put("pb", cap, g("shareholders_equity"))
    put("ps", cap, g("revenue"))
    put("net_margin", g("net_income"), g("revenue"))
    put("gross_margin", g("gross_profit"), g("revenue"))
    put("operating_margin", g("operating_income"), g("revenue"))
    put("roe", g("net_income"), g("shareholders_equity"))
    put("debt_to_equity", debt, g("shareholders_equity"))
    put("current_ratio", g("current_assets"), g("current_liabilities"))
    put("dividend_yield", g("dividends_per_share"), price)
    if g("revenue") is not None and g("revenue_prior_year"):
        out["revenue_growth"] = g("revenue") / g("revenue_prior_year") - 1  # type: ignore[operator]
    if g("eps_diluted") is not None and g("eps_diluted_prior_year"):
        out["eps_growth"] = g("eps_diluted") / g("eps_diluted_prior_year") - 1  # type: ignore[operator]
    if cap and g("operating_cash_flow") is not None:
        out["fcf_yield"] = (g("operating_cash_flow") - (g("capital_expenditure") or 0)) / cap  # type: ignore[operator]
    if cap:
        out["market_cap"] = cap
    cash = sum(g(k) or 0.0 for k in ("cash_and_equivalents", "short_term_securities",
                                     "long_term_securities"))
    if cash:
        out["net_cash"] = cash - debt
    return out


def analyze_fundamentals(f: Fundamentals, price: float) -> dict[str, Any]:
    """Ratios (rounded), the signals of the scored ones, and a score in [-1, 1]."""
    computed = ratios_from_items(f.items, price) if f.items else {}
    ratios = {**f.metrics, **computed}
    signals = []
    for name, (contribution, describe) in _SCORED.items():
        x = ratios.get(name)
        if x is not None:
            signals.append(signal(name, x, contribution(x), describe(x)))
    score = mean_score(signals)
    shown = ", ".join(describe(ratios[n]) for n, (_, describe) in _SCORED.items() if n in ratios)
    return {
        "source": f.source, "period": f.period, "period_end": f.period_end, "filed": f.filed,
        "basis": "computed from the report's line items at the run's price" if computed
        else "the provider's own ratios",
        "price": round(price, 4),
        "ratios": {k: round(v, 4) for k, v in sorted(ratios.items())},
        "signals": signals, "score": score,
        "missing": [n for n in _SCORED if n not in ratios],
        "summary": f"{f.period}: {shown or 'no scored ratio available'}; score {score:+.2f}",
    }
