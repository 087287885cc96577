"""Nodes for the answer-durability tests, imported by a real server (``allow_imports``)."""

from __future__ import annotations

from typing import Any

import anyio

from runtime import WorkflowState, ask

__all__ = ["ask_then_work"]


async def ask_then_work(state: WorkflowState) -> dict[str, Any]:
    """Ask, then work ``data.work`` seconds with the answer: the server is killed
    meanwhile, before the node's step is written."""
    answer = await ask({"question": "go on?"})
    await anyio.sleep(float(state.data.get("work", 0)))
    return {"answer": answer}
