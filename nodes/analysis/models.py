"""Data types shared by the review rules, the scorer and the graph nodes.

Kept apart from the rules themselves so that consumers (scoring, API schemas)
can import them without pulling in the AST analysis code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RULES", "Issue", "Severity", "Thresholds"]

Severity = Literal["info", "warning", "error"]

#: Rule id -> short title. Kept in one place so docs and suggestions agree.
RULES: dict[str, str] = {
    "AF101": "long function",
    "AF102": "high cyclomatic complexity",
    "AF103": "missing docstring",
    "AF104": "too many parameters",
    "AF105": "deep nesting",
    "AF106": "bare except",
    "AF107": "broad except",
    "AF108": "mutable default argument",
    "AF109": "unused argument",
    "AF110": "unused local variable",
}


class Thresholds(BaseModel):
    """Per-run limits for the review rules; build one from a dict with ``Thresholds(**d)``
    or ``Thresholds.model_validate(d)``. Unknown keys are rejected to catch typos."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_function_lines: int = Field(default=50, ge=1)
    max_complexity: int = Field(default=10, ge=1)
    max_params: int = Field(default=5, ge=0)
    max_nesting: int = Field(default=4, ge=1)
    require_docstrings: bool = True


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found in the code.

    Attributes:
        rule_id: stable rule id, a key of :data:`RULES`.
        message: human-readable description, naming the function and numbers.
        line: 1-based line the issue points at.
        severity: ``"info"``, ``"warning"`` or ``"error"``.
        function: qualified name of the enclosing function, ``None`` at module level.
    """

    rule_id: str
    message: str
    line: int
    severity: Severity
    function: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)
