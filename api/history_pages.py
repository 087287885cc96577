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
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from runtime.definition import MAX_COUNT
from runtime.store.base import Checkpoint

from .schemas import CheckpointOut

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "MAX_PAGE_BYTES", "HistoryQuery", "SubgraphsQuery",
           "ThreadHistoryQuery", "checkpoint_out", "page", "subgraph_page"]

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


class SubgraphsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"checkpoints per page, over all subgraph executions (at "
                       f"most {MAX_LIMIT}; a page also stops at {MAX_PAGE_BYTES // 2**20} MiB "
                       "of state)")
    cursor: str | None = Field(None, max_length=40, pattern=r"^\d+:-?\d+$",
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


#: Reads a subgraph execution's checkpoints after a step, at most a number of them.
History = Callable[[str, int, int], Awaitable[list[Checkpoint]]]


Executions = list[tuple[str, list[tuple[Checkpoint, CheckpointOut]]]]


async def subgraph_page(children: list[str], limit: int, cursor: str | None, history: History
                        ) -> tuple[Executions, str | None]:
    """One page of the checkpoints of a run's subgraph executions ``children``, in order.

    A page holds at most ``limit`` checkpoints over all executions and
    :data:`MAX_PAGE_BYTES` of state (always at least one checkpoint), so an execution's
    steps may go on on the next page under the same id. The cursor is
    ``<execution index>:<last step sent>``; the returned one is None on the last page."""
    index, after = (int(part) for part in cursor.split(":")) if cursor else (0, -1)
    out: Executions = []
    sent = size = 0
    for i in range(index, len(children)):
        items: list[tuple[Checkpoint, CheckpointOut]] = []
        out.append((children[i], items))
        start = after if i == index else -1
        for c in await history(children[i], start, limit - sent + 1):
            item = checkpoint_out(c)
            size += len(_size(item.state)) + len(_size(item.changed))
            if sent == limit or (sent and size > MAX_PAGE_BYTES):
                # The next page starts after the last checkpoint this one sent.
                if not items:
                    out.pop()
                return out, f"{i}:{items[-1][0].step if items else start}"
            items.append((c, item))
            sent += 1
        if sent == limit and i + 1 < len(children):
            return out, f"{i + 1}:-1"
    return out, None
