"""The recommendation rule: weights, thresholds, coverage and disagreement."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.finance.scoring import THRESHOLD, WEIGHTS, recommend


def analysis(score: float, name: str = "x") -> dict[str, Any]:
    return {"score": score, "signals": [{"name": name, "value": score, "contribution": score,
                                         "reason": f"{name} says {score:+.2f}"}]}


def four(t: float, f: float, s: float, n: float) -> dict[str, dict[str, Any] | None]:
    return {"technical": analysis(t, "t"), "fundamental": analysis(f, "f"),
            "sentiment": analysis(s, "s"), "news": analysis(n, "n")}


def test_the_combined_score_is_the_weighted_mean() -> None:
    rec = recommend(four(0.6, 0.4, 0.0, -0.2))
    assert rec["score"] == pytest.approx(0.35 * 0.6 + 0.35 * 0.4 + 0 - 0.15 * 0.2)
    assert rec["contributions"]["technical"] == pytest.approx(0.21)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(("score", "action"), [(THRESHOLD, "buy"), (0.19, "hold"),
                                                (-0.19, "hold"), (-THRESHOLD, "sell")])
def test_thresholds_decide_the_action(score: float, action: str) -> None:
    assert recommend(four(score, score, score, score))["action"] == action


def test_unanimous_strong_analysts_give_full_confidence() -> None:
    rec = recommend(four(1, 1, 1, 1))
    assert (rec["action"], rec["confidence"], rec["agreement"]) == ("buy", 1.0, 1.0)


def test_disagreement_lowers_confidence_at_the_same_combined_score() -> None:
    agree = recommend(four(0.5, 0.5, 0.5, 0.5))
    split = recommend(four(1.0, 0.0, 0.5, 0.5))
    assert agree["score"] == pytest.approx(split["score"])
    assert split["confidence"] < agree["confidence"]


def test_a_missing_analysis_lowers_confidence_and_is_named() -> None:
    full = recommend(four(0.8, 0.8, 0.8, 0.8))
    analyses = four(0.8, 0.8, 0.8, 0.8)
    analyses["fundamental"] = None
    partial = recommend(analyses, {"fundamental": "fundamental_analysis: RateLimited: 429"})
    assert partial["action"] == full["action"] == "buy"
    assert partial["coverage"] == pytest.approx(0.65)
    # By its weight, and as an unknown score: 1/3 + S^2 of expected squared deviation.
    spread = (0.35 * (1 / 3 + 0.8**2)) ** 0.5
    assert partial["agreement"] == pytest.approx(1 - spread, abs=1e-4)
    assert partial["confidence"] == pytest.approx(
        0.65 * (1 - spread) * (0.5 + 0.5 * (0.8 - 0.2) / 0.8), abs=0.01)
    assert partial["confidence"] < full["confidence"] * 0.65

    assert partial["missing"] == {"fundamental": "fundamental_analysis: RateLimited: 429"}
    assert any("fundamental analysis missing: fundamental_analysis: RateLimited" in r
               for r in partial["reasons"])


def test_a_lone_analysis_is_not_unanimous() -> None:
    rec = recommend({"technical": analysis(-0.65), "fundamental": None, "sentiment": None,
                     "news": None})
    assert rec["action"] == "sell"
    assert rec["agreement"] < 0.35 and rec["confidence"] < 0.1


def test_nothing_available_is_hold_with_zero_confidence() -> None:
    rec = recommend(dict.fromkeys(WEIGHTS))
    assert (rec["action"], rec["confidence"]) == ("hold", 0.0)
    assert set(rec["missing"]) == set(WEIGHTS)


def test_a_hold_is_most_confident_at_zero() -> None:
    assert recommend(four(0, 0, 0, 0))["confidence"] == 1.0
    assert recommend(four(0.15, 0.15, 0.15, 0.15))["confidence"] < 1.0


def test_reasons_for_a_buy_are_the_bullish_signals_strongest_first() -> None:
    rec = recommend(four(0.9, 0.5, -0.4, 0.6))
    assert rec["action"] == "buy"
    assert rec["reasons"][0].startswith("technical: t says +0.90")
    assert not any("s says" in r for r in rec["reasons"])  # the bearish one is not a reason
