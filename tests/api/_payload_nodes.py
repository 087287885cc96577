"""Node functions named by the payload-bound tests (``_payload_nodes:...``): a real
server imports them (``allow_imports``) with this folder on its PYTHONPATH."""

from __future__ import annotations

from typing import Any

from runtime import WorkflowState
from runtime.context import NodeContext


async def shout(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Log an event carrying ``config.bytes`` bytes."""
    size = int(ctx.config.get("bytes", 10))
    ctx.log("a blob", blob="y" * size)
    return {"shouted": size}
