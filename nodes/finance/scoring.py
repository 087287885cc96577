"""The recommendation rule: four analysis scores in, buy / hold / sell and a confidence out.

Each analysis gives a score ``s`` in [-1, 1] (positive = bullish). The rule,
deterministic and independent of any language model:

1. **Combined score** ``S = sum(w * s) / sum(w)`` over the analyses that ran,
   with weights :data:`WEIGHTS` (technical 0.35, fundamental 0.35, sentiment
   0.15, news 0.15).
2. **Action**: ``buy`` if ``S >= 0.2``, ``sell`` if ``S <= -0.2``, else ``hold``.
3. **Confidence** = ``coverage x agreement x (0.5 + 0.5 x decisiveness)``, in [0, 1]:

   * ``coverage`` = the weight of the analyses that ran / the total weight
     (all four missing: confidence 0);
   * ``agreement`` = ``1 - D`` (at least 0), where ``D`` is the weighted root
     mean square deviation of the four scores from ``S``: analysts that
     disagree lower it. A missing analysis counts as an unknown score anywhere
     in [-1, 1], whose expected squared deviation is ``1/3 + S^2``: what it
     might have said is doubt too. So a missing analyst lowers confidence
     twice, by its weight and by the disagreement it might have brought, and a
     lone analyst never looks unanimous;
   * ``decisiveness``: for buy/sell, how far ``S`` is past the threshold
     (``(|S| - 0.2) / 0.8``); for hold, how close ``S`` is to 0 (``1 - |S| / 0.2``).

Each analysis's *contribution* (``w * s / sum(w)``) is reported, and the
reasons are the strongest signals behind the action, each with its value.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["ANALYSES", "THRESHOLD", "WEIGHTS", "recommend"]

WEIGHTS: dict[str, float] = {"technical": 0.35, "fundamental": 0.35, "sentiment": 0.15,
                             "news": 0.15}
ANALYSES = tuple(WEIGHTS)
THRESHOLD = 0.2


def recommend(analyses: dict[str, dict[str, Any] | None],
              missing: dict[str, str] | None = None) -> dict[str, Any]:
    """Apply the rule to ``{name: analysis or None}`` (each analysis has ``score`` and
    ``signals``); ``missing`` maps absent analyses to why they are absent."""
    present = {n: a for n, a in analyses.items() if n in WEIGHTS and a is not None}
    why = dict(missing or {})
    for n in ANALYSES:
        if n not in present:
            why.setdefault(n, "not run")
    total = sum(WEIGHTS.values())
    if not present:
        return {"action": "hold", "confidence": 0.0, "score": 0.0, "coverage": 0.0,
                "agreement": 0.0, "contributions": {}, "missing": why,
                "reasons": ["no analysis is available, so nothing supports a buy or a sell"],
                "rule": _RULE}
    wsum = sum(WEIGHTS[n] for n in present)
    scores = {n: float(a["score"]) for n, a in present.items()}
    # Rounded as reported, so the action follows the score the report shows.
    s = round(sum(WEIGHTS[n] * scores[n] for n in present) / wsum, 4)
    unknown = (1 / 3 + s * s) * (total - wsum)  # E[(X - S)^2], X uniform on [-1, 1]
    spread = math.sqrt((sum(WEIGHTS[n] * (scores[n] - s) ** 2 for n in present) + unknown)
                       / total)
    agreement = 1 - min(1.0, spread)
    coverage = wsum / total
    action = "buy" if s >= THRESHOLD else "sell" if s <= -THRESHOLD else "hold"
    decisive = ((abs(s) - THRESHOLD) / (1 - THRESHOLD) if action != "hold"
                else 1 - abs(s) / THRESHOLD)
    confidence = coverage * agreement * (0.5 + 0.5 * max(0.0, min(1.0, decisive)))
    return {
        "action": action, "confidence": round(confidence, 2), "score": round(s, 4),
        "coverage": round(coverage, 4), "agreement": round(agreement, 4),
        "contributions": {n: round(WEIGHTS[n] * scores[n] / wsum, 4) for n in present},
        "analysis_scores": scores, "missing": {n: why[n] for n in ANALYSES if n not in present},
        "reasons": _reasons(present, action, why), "rule": _RULE,
    }


_RULE = ("weighted mean of analysis scores (technical 0.35, fundamental 0.35, sentiment 0.15, "
         "news 0.15); buy >= 0.2, sell <= -0.2, else hold; confidence = coverage x agreement x "
         "(0.5 + 0.5 x decisiveness), a missing analysis counting as an unknown score")


def _reasons(present: dict[str, dict[str, Any]], action: str, why: dict[str, str]) -> list[str]:
    """The strongest signals pointing the way of the action (both ways for hold)."""
    signals = [(n, sig) for n, a in present.items() for sig in a.get("signals") or []]
    sign = {"buy": 1, "sell": -1}.get(action)
    if sign is not None:
        signals = [x for x in signals if x[1]["contribution"] * sign > 0]
    signals.sort(key=lambda x: abs(x[1]["contribution"]) * WEIGHTS[x[0]], reverse=True)
    reasons = [f"{n}: {sig['reason']} ({sig['contribution']:+.2f})" for n, sig in signals[:5]]
    reasons += [f"{n} analysis missing: {why[n]}" for n in ANALYSES if n not in present]
    return reasons
