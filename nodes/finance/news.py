"""News analysis: what the news was about, and how the stock moved on it.

Each headline is put in categories by keyword (documented in
:data:`CATEGORIES`). Its *market reaction* is the two-day close-to-close
return around it: from the close before the headline's date to the close of
the trading day after (so a release after the bell is covered). The score is
the mean reaction scaled by 3% (``mean / 0.03``, clamped to [-1, 1]): the news
counts by what the market did with it, not by its wording (that is the
sentiment analyst's job). Headlines outside the price history get no reaction.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from .models import Headline, PriceSeries
from .signals import signal

__all__ = ["CATEGORIES", "REACTION_SCALE", "analyze_news", "categorize"]

REACTION_SCALE = 0.03
CATEGORIES: dict[str, re.Pattern[str]] = {
    "earnings": re.compile(r"\b(results|earnings|quarter|revenue|profit|sales|guidance)\b", re.IGNORECASE),
    "product": re.compile(r"\b(introduc\w*|launch\w*|unveil\w*|previews?|iphone|ipad|mac|"
                          r"watch|ios|macbook)\b", re.IGNORECASE),
    "legal_regulatory": re.compile(r"\b(lawsuit|sues?|sued|court|fines?|illegal|state aid|"
                                   r"antitrust|regulat\w*|tax\w*|fbi|probe|patent)\b", re.IGNORECASE),
    "capital_return": re.compile(r"\b(buybacks?|dividends?|repurchases?)\b", re.IGNORECASE),
    "leadership": re.compile(r"\b(ceo|cfo|executive|resign\w*|appoint\w*|message)\b", re.IGNORECASE),
    "analyst": re.compile(r"\b(upgrade\w*|downgrade\w*|price target|rating)\b", re.IGNORECASE),
}


def categorize(text: str) -> list[str]:
    """The categories whose keywords occur in ``text`` (``["other"]`` if none)."""
    found = [name for name, pattern in CATEGORIES.items() if pattern.search(text)]
    return found or ["other"]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _reaction(prices: PriceSeries, day: str) -> float | None:
    i = bisect.bisect_left(prices.dates, day)   # first bar on or after the headline
    if i == 0 or i + 1 >= len(prices):
        return None
    return prices.close[i + 1] / prices.close[i - 1] - 1


def analyze_news(headlines: list[Headline], prices: PriceSeries | None) -> dict[str, Any]:
    """Categories, per-headline reactions, the biggest movers, and a score in [-1, 1].

    Raises:
        ValueError: when there are no headlines.
    """
    if not headlines:
        raise ValueError("no headlines in the news window: no news to analyse "
                         "(widen news_days)")
    items: list[dict[str, Any]] = []
    for h in headlines:
        reaction = _reaction(prices, h.date) if prices is not None else None
        items.append({"date": h.date, "source": h.source, "headline": h.headline,
                      "categories": categorize(h.headline),
                      "reaction": None if reaction is None else round(reaction, 4)})
    counts: dict[str, int] = {}
    for item in items:
        for cat in item["categories"]:
            counts[cat] = counts.get(cat, 0) + 1
    measured = [i for i in items if i["reaction"] is not None]
    signals = []
    if measured:
        mean = sum(i["reaction"] for i in measured) / len(measured)
        signals.append(signal("news_reaction", mean, mean / REACTION_SCALE,
                              f"mean 2-day move around {len(measured)} headlines {mean:+.2%}"))
    movers = sorted(measured, key=lambda i: abs(i["reaction"]), reverse=True)[:3]
    score = signals[0]["contribution"] if signals else 0.0
    top = "; ".join(f"{m['date']} {m['reaction']:+.1%} ({_short(m['headline'])})" for m in movers)
    return {"headlines": items, "category_counts": dict(sorted(counts.items())),
            "biggest_moves": movers, "signals": signals, "score": score,
            "summary": f"{len(items)} headlines ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
                       f"; biggest moves: {top or 'n/a'}; score {score:+.2f}"}
