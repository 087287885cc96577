"""A run's history: its stored checkpoints, led by step 0, its input.

A run stores a checkpoint after each step, none before its first: before it, the run
is its input (what ``get_state(run, 0)``, ``fork(run, 0)`` and an execution log's
``input_step`` 0 read). The history lists that input as step 0, as LangGraph's state
history begins with the input.
"""

from __future__ import annotations

from .position import Position
from .store.base import Checkpoint, RunRecord, Store

__all__ = ["history", "input_checkpoint"]


def input_checkpoint(record: RunRecord, position: Position | None = None) -> Checkpoint:
    """Step 0 of a run that stored none: its input, about to enter the graph (what
    ``get_state(run, 0)``, ``fork(run, 0)`` and an execution log's ``input_step`` 0 read).
    ``changed`` is the input's data: what the step wrote into an empty state."""
    data = record.initial_state.get("data") or {}
    return Checkpoint(run_id=record.id, step=0, state=record.initial_state,
                      changed=dict(data), position=position, created_at=record.created_at)


async def history(store: Store, run_id: str, *, after: int = -1,
                  limit: int | None = None) -> list[Checkpoint]:
    """A run's checkpoints after step ``after``, oldest first, at most ``limit``: the
    stored ones, led by step 0 (:func:`input_checkpoint`) when the run stored none, as
    LangGraph's state history begins with the input. A fork from a later step begins
    with that step (stored as its first checkpoint: its input is that step's state),
    and a subgraph's execution (``<run>/<node>:<activation>``) with its first step:
    both list only what they stored."""
    got = await store.list_checkpoints(run_id, after=after, limit=limit)
    if after >= 0 or limit == 0 or (got and got[0].step == 0) or "/" in run_id:
        return got
    record = await store.get_run(run_id)
    if record is None or (record.options.get("forked_from") or {}).get("step", 0) > 0:
        return got
    return [input_checkpoint(record), *got][:limit]
