"""A signal: one reason an analysis leans one way, with the number behind it.

Every analysis turns its findings into signals with a ``contribution`` in
[-1, 1] (positive: bullish) and averages them into its ``score``; the report
and the recommendation cite the signals, so every reason comes with its value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["clamp", "mean_score", "signal"]


def clamp(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


def signal(name: str, value: float | None, contribution: float, reason: str) -> dict[str, Any]:
    """A JSON-ready signal; ``contribution`` is clamped to [-1, 1] and rounded."""
    return {"name": name, "value": None if value is None else round(value, 4),
            "contribution": round(clamp(contribution), 4), "reason": reason}


def mean_score(signals: list[dict[str, Any]]) -> float:
    """The mean contribution (0 for no signals), rounded to 4 places."""
    if not signals:
        return 0.0
    return round(sum(float(s["contribution"]) for s in signals) / len(signals), 4)
