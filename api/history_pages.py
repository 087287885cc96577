"""Pages of a run's (or thread's) checkpoints: bounded in count and in bytes.

Each checkpoint carries its whole state, so a count alone does not bound a page: a
state that grew to 20 MB makes 20 checkpoints 400 MB (the probe's ``GET /history``
answered 4 GB). A page holds at most ``limit`` checkpoints (the server caps it at
:data:`MAX_LIMIT`) and stops before the one that would take it past
:data:`MAX_PAGE_BYTES` of state (it always holds one, however large: the client asked
for that step). ``next_after`` (``next_cursor`` for threads) says where the next page
starts; None on the last page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from runtime.definition import MAX_COUNT
from runtime.store.base import Checkpoint

from .schemas import CheckpointOut

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_PAGE_BYTES", "HistoryQuery", "ThreadHistoryQuery",
           "checkpoint_out", "page"]

#: Checkpoints per page unless ``limit`` says otherwise, and the most it may ask for.
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
#: The JSON bytes of the states (and changed values) a page holds at most, beyond its
#: first checkpoint.
MAX_PAGE_BYTES = 8 * 1024 * 1024

_size = json.JSONEncoder(separators=(",", ":"), default=str).encode


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"checkpoints per page (at most {MAX_LIMIT}; a page also "
                       f"stops at {MAX_PAGE_BYTES // 2**20} MiB of state)")
    after: int = Field(-1, ge=-1, le=MAX_COUNT,
                       description="the step the previous page ended at (its `next_after`); "
                       "-1 (default) for the first page")


class ThreadHistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"checkpoints per page (at most {MAX_LIMIT}; a page also "
                       f"stops at {MAX_PAGE_BYTES // 2**20} MiB of state)")
    cursor: str | None = Field(None, max_length=400, pattern=r"^.+:-?\d+$",
                               description="the previous page's `next_cursor`; none for the "
                               "first page")


def checkpoint_out(c: Checkpoint) -> CheckpointOut:
    return CheckpointOut(step=c.step, nodes=c.nodes, state=dict(c.state.get("data") or {}),
                         changed=c.changed, created_at=c.created_at)


T = TypeVar("T")


def page(got: list[T], limit: int, out: Callable[[T], CheckpointOut]
         ) -> tuple[list[tuple[T, CheckpointOut]], bool]:
    """The checkpoints of ``got`` (fetched with ``limit + 1``) that fit in one page, and
    whether more follow."""
    kept: list[tuple[T, CheckpointOut]] = []
    size = 0
    for c in got[:limit]:
        item = out(c)
        size += len(_size(item.state)) + len(_size(item.changed))
        if kept and size > MAX_PAGE_BYTES:
            return kept, True
        kept.append((c, item))
    return kept, len(got) > limit
