"""The investment report: a deterministic template, or a language model's prose plus
the same figures.

:func:`template_report` writes every section from the analyses' numbers.
:func:`llm_request` asks a model to write the narrative from the same numbers
(given as JSON); the report then carries the model's text *and* the template's
figures, so the numbers it used are always cited whatever the model writes.
"""

from __future__ import annotations

import json
from typing import Any

from nodes.llm import LLMRequest

__all__ = ["SECTION_TITLES", "llm_request", "recommendation_text", "template_report"]

SECTION_TITLES = {"technical": "Technical", "fundamental": "Fundamental",
                  "sentiment": "Sentiment", "news": "News"}
_SYSTEM = ("You are an equity analyst. Write a short investment report from the figures "
           "given, citing the numbers you rely on. Use only the figures given; do not invent "
           "any. Do not give the final buy/hold/sell verdict: a scoring rule adds it.")


def _section(name: str, analysis: dict[str, Any]) -> list[str]:
    lines = [f"{SECTION_TITLES[name]} (score {analysis['score']:+.2f}): {analysis['summary']}"]
    lines += [f"  - {s['reason']} -> {s['contribution']:+.2f}" for s in analysis.get("signals", [])]
    if name == "fundamental":
        lines.append(f"  source: {analysis['source']} ({analysis['basis']})")
    if name == "sentiment":
        lines += [f"  {h['date']} {h['compound']:+.3f} {h['headline']} [{h['source']}]"
                  for h in analysis["headlines"]]
    return lines


def template_report(symbol: str, as_of: str, provider: str,
                    analyses: dict[str, dict[str, Any] | None],
                    missing: dict[str, str]) -> str:
    """The report's text from the analyses' figures (no language model)."""
    lines = [f"Investment report: {symbol} as of {as_of} (market data: {provider})", ""]
    for name, title in SECTION_TITLES.items():
        analysis = analyses.get(name)
        if analysis is not None:
            lines += _section(name, analysis)
        else:
            lines.append(f"{title}: MISSING ({missing.get(name, 'not run')})")
    return "\n".join(lines)


def llm_request(symbol: str, as_of: str, analyses: dict[str, dict[str, Any] | None],
                missing: dict[str, str]) -> LLMRequest:
    """The request for the narrative: the analyses' summaries and signals as JSON."""
    facts = {name: {"score": a["score"], "summary": a["summary"], "signals": a["signals"]}
             for name, a in analyses.items() if a is not None}
    prompt = (f"Company: {symbol}. Date of the analysis: {as_of}.\n"
              f"Analyses (JSON):\n{json.dumps(facts, indent=1)}\n"
              f"Missing analyses: {json.dumps(missing) if missing else 'none'}.\n"
              "Write 2-4 short paragraphs: trend and momentum, fundamentals, news and "
              "sentiment, and what is missing. Cite the numbers.")
    return LLMRequest(prompt=prompt, system=_SYSTEM, max_tokens=600)


def recommendation_text(rec: dict[str, Any]) -> str:
    """The recommendation section appended to the report."""
    head = (f"Recommendation: {rec['action'].upper()} (confidence {rec['confidence']:.2f}; "
            f"combined score {rec['score']:+.2f}, coverage {rec['coverage']:.2f}, "
            f"agreement {rec['agreement']:.2f})")
    lines = ["", head]
    lines += [f"  - {r}" for r in rec["reasons"]]
    lines.append(f"  rule: {rec['rule']}")
    return "\n".join(lines)
