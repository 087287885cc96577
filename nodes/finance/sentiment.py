"""Headline sentiment with VADER (Hutto & Gilbert, 2014), offline.

VADER's lexicon ships inside the ``vaderSentiment`` package; no download, no
network. Each headline gets VADER's ``compound`` score in [-1, 1]; a headline
is positive at >= 0.05 and negative at <= -0.05 (VADER's documented
thresholds). The analysis score is the mean compound over the headlines.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from .models import Headline
from .signals import signal

__all__ = ["NEGATIVE", "POSITIVE", "analyze_sentiment", "compound"]

POSITIVE = 0.05
NEGATIVE = -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loading the lexicon takes ~50 ms: once per process.
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score of ``text``."""
    return float(_analyzer().polarity_scores(text)["compound"])


def analyze_sentiment(headlines: list[Headline]) -> dict[str, Any]:
    """Per-headline scores, counts, the mean, and its signal.

    Raises:
        ValueError: when there are no headlines (nothing to measure).
    """
    if not headlines:
        raise ValueError("no headlines in the news window: nothing to measure sentiment on "
                         "(widen news_days)")
    scored: list[dict[str, Any]] = [{"date": h.date, "source": h.source, "headline": h.headline,
               "compound": round(compound(h.headline), 4)} for h in headlines]
    values = [float(s["compound"]) for s in scored]
    mean = sum(values) / len(values)
    positive = sum(v >= POSITIVE for v in values)
    negative = sum(v <= NEGATIVE for v in values)
    counts = {"positive": positive, "negative": negative,
              "neutral": len(values) - positive - negative}
    sig = signal("headline_sentiment", mean, mean,
                 f"mean VADER compound {mean:+.3f} over {len(values)} headlines "
                 f"({positive} positive, {negative} negative)")
    return {"model": "VADER (vaderSentiment 3.3)", "headlines": scored, "counts": counts,
            "mean_compound": round(mean, 4), "signals": [sig], "score": sig["contribution"],
            "summary": f"{len(values)} headlines, mean compound {mean:+.3f} "
                       f"({positive}+/{negative}-); score {sig['contribution']:+.2f}"}
