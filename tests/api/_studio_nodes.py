"""Nodes for the Studio's browser tests, imported by a real server (``allow_imports``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime import WorkflowState, ask

__all__ = ["Review", "ask_for_review"]


class Review(BaseModel):
    """The answer a reviewer gives; its JSON schema is the Studio's form."""

    approved: bool
    score: int = Field(ge=1, le=5, description="from 1 (poor) to 5 (excellent)")
    comment: str
    channel: Literal["email", "chat"]


async def ask_for_review(state: WorkflowState) -> dict[str, Any]:
    """Ask for a review of the draft (answered through a form built from Review)."""
    answer = await ask({"question": "Review this draft", "data": {"draft": state["draft"]}},
                       schema=Review)
    review = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
    return {"review": review}
