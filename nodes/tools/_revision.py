"""Asking a model for a revised version of reviewed code, and deciding whether to use it.

A revision is used only if it parses and differs from the code it revises: a
model's broken or unchanged answer must not end the review loop in an error,
nor keep it looping on the same code.
"""

from __future__ import annotations

import re

from nodes.analysis import CodeSyntaxError
from nodes.analysis.errors import parse_code
from nodes.llm import LLMRequest

__all__ = ["MAX_PROMPT_SUGGESTIONS", "accept_revision", "revision_request"]

#: Suggestions quoted in the LLM prompt; more would crowd out the code.
MAX_PROMPT_SUGGESTIONS = 30

_FENCED = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_SYSTEM = (
    "You are a meticulous senior Python reviewer. You fix code-quality problems "
    "without changing what the code does."
)


def revision_request(code: str, suggestions: list[str]) -> LLMRequest:
    """The prompt: the findings, then the whole code in a fenced block."""
    findings = "\n".join(f"- {s}" for s in suggestions[:MAX_PROMPT_SUGGESTIONS])
    prompt = (
        "Revise the Python code below to fix these review findings:\n"
        f"{findings}\n\n"
        # No literal fence in the instructions: fence parsers would pair it with the code's.
        "Keep its behaviour identical. Answer with the complete revised code in one fenced "
        "python code block and nothing else.\n\n"
        f"```python\n{code}\n```"
    )
    return LLMRequest(prompt=prompt, system=_SYSTEM)


def accept_revision(code: str, answer: str) -> tuple[str | None, str]:
    """(revised code, "") if the answer holds usable new code, else (None, why not)."""
    blocks = _FENCED.findall(answer)
    revised = max(blocks, key=len) if blocks else answer
    revised = revised.strip("\n")
    if not revised.strip():
        return None, "the answer holds no code"
    try:
        parse_code(revised)
    except CodeSyntaxError as exc:
        return None, f"the revised code does not parse ({exc})"
    if revised.rstrip() == code.strip("\n").rstrip():
        return None, "the revised code is unchanged"
    return revised + "\n", ""
