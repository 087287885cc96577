"""The code-review workflow's optional approval step: "apply the suggested revision?"

With ``require_approval`` true in the run's input, the run pauses (human in the loop)
before an LLM revision replaces the code; the answer (``{"approved": bool,
"comment": str}``) decides whether the next pass reviews the revision or the run
goes straight to its report. Without it, revisions are applied as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runtime import ToolRegistry, WorkflowState, ask

__all__ = ["RevisionApproval", "approve_revision", "register"]


class RevisionApproval(BaseModel):
    """The answer to the approval question."""

    approved: bool
    comment: str = ""


async def approve_revision(state: WorkflowState) -> dict[str, Any]:
    """Ask whether to apply ``revised_code`` when ``require_approval`` is set."""
    data = state.data
    if not data.get("require_approval"):
        return {"revision_approved": True}
    answer = await ask({
        "question": "apply the suggested revision?",
        "quality_score": data.get("quality_score"),
        "suggestions": data.get("suggestions", []),
        "revised_code": data.get("revised_code"),
    }, schema=RevisionApproval)
    decisions = list(data.get("approvals") or [])
    decisions.append({"approved": answer.approved, "comment": answer.comment,
                      "iteration": data.get("iteration_count")})
    return {"revision_approved": answer.approved, "approvals": decisions}


def register(target: ToolRegistry) -> None:
    target.add_tool(approve_revision, name="approve_revision",
                    description="Ask a person whether to apply the LLM's revision",
                    writes=("revision_approved", "approvals"), replace=True)
