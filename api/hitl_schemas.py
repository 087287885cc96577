"""Bodies of the human-in-the-loop and time-travel endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.definition import MAX_COUNT

__all__ = [
    "ForkIn",
    "ForkOut",
    "InterruptList",
    "InterruptOut",
    "ReplayIn",
    "ResumeIn",
    "ResumeOut",
    "StateEditIn",
    "StateEditOut",
    "StepStateOut",
]


class ResumeIn(BaseModel):
    """The answer to what a run waits for. ``interrupt_id`` may be left out when the
    run waits for exactly one answer."""

    model_config = ConfigDict(extra="forbid")

    answer: Any = None
    interrupt_id: str | None = None


class ResumeOut(BaseModel):
    run_id: str
    status: str
    interrupt_id: str | None


class InterruptOut(BaseModel):
    id: str
    kind: str = Field(description="ask | before | after")
    node: str
    payload: Any = None
    answer_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema the answer must match (null: any JSON answer)")


class InterruptList(BaseModel):
    run_id: str
    status: str
    interrupts: list[InterruptOut]


class StateEditIn(BaseModel):
    """Data keys to write, as if ``as_node`` had written them (through its reducers)."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any]
    as_node: str | None = None


class StateEditOut(BaseModel):
    run_id: str
    step: int
    state: dict[str, Any] | None = Field(
        description="the state after the edit; null for a caller without the scope "
        "'runs:read' (editing needs only 'runs:write')")


class ForkIn(BaseModel):
    """Fork from checkpoint ``step`` (default: the latest), editing ``values`` first."""

    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, ge=0, le=MAX_COUNT)
    values: dict[str, Any] | None = None


class ReplayIn(BaseModel):
    """Replay from the start (``step`` null) or from a checkpoint."""

    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, ge=0, le=MAX_COUNT)


class ForkOut(BaseModel):
    run_id: str
    parent_run_id: str
    status: str
    step: int | None


class StepStateOut(BaseModel):
    run_id: str
    step: int | None
    state: dict[str, Any]
    errors: list[str]
    warnings: list[str]
