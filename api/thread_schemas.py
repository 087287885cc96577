"""Bodies of the thread endpoints (conversations over many runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .schemas import CheckpointOut, RunSummary

__all__ = [
    "ThreadCopyIn",
    "ThreadCreate",
    "ThreadDeleted",
    "ThreadHistoryOut",
    "ThreadList",
    "ThreadOut",
    "ThreadRunCreate",
    "ThreadRunList",
    "ThreadStateOut",
]


class ThreadCreate(BaseModel):
    """``POST /api/v1/threads``: an empty thread (an id is made when none is given)."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str | None = Field(None, min_length=1, max_length=200)
    graph_id: str | None = Field(None, min_length=1,
                                 description="the graph its runs use, if one")
    metadata: dict[str, Any] = Field(default_factory=dict)


class ThreadOut(BaseModel):
    thread_id: str
    tenant: str
    graph_name: str | None
    metadata: dict[str, Any]
    copied_from: str | None
    active_run_id: str | None = Field(None, description="the run holding the thread, if any")
    created_at: datetime
    updated_at: datetime


class ThreadDeleted(BaseModel):
    thread_id: str
    deleted: bool
    runs_deleted: int


class ThreadList(BaseModel):
    items: list[ThreadOut]
    limit: int
    offset: int
    next_offset: int | None


class ThreadCopyIn(BaseModel):
    """``POST /api/v1/threads/{thread_id}/copy``: the new thread's id (made if left out)."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str | None = Field(None, min_length=1, max_length=200)


class ThreadRunCreate(BaseModel):
    """``POST /api/v1/threads/{thread_id}/runs``: a turn of the conversation. ``input``
    is merged into the thread's latest state through the graph's reducers;
    ``multitask`` says what happens while another run of the thread is active."""

    model_config = ConfigDict(extra="forbid")

    graph_id: str = Field(min_length=1, description="a graph id, or a graph name")
    input: dict[str, Any] = Field(default_factory=dict)
    multitask: Literal["reject", "enqueue", "interrupt"] = "reject"
    timeout: float | None = Field(None, gt=0, le=7 * 24 * 3600)
    max_steps: int | None = Field(None, ge=1)
    config: dict[str, Any] = Field(default_factory=dict)


class ThreadRunList(BaseModel):
    thread_id: str
    runs: list[RunSummary]


class ThreadStateOut(BaseModel):
    thread_id: str
    state: dict[str, Any]


class ThreadHistoryOut(BaseModel):
    thread_id: str
    checkpoints: list[CheckpointOut]
    run_ids: list[str] = Field(description="the run of each checkpoint, in the same order")
    limit: int
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page")
