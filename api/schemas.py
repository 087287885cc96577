"""Request and response bodies of the HTTP API (the seed's shapes, extended).

Graph definitions reuse the runtime's own :class:`runtime.definition.GraphDef`, so
the API accepts exactly what ``Graph.from_json`` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from runtime.definition import MAX_COUNT, MAX_SECONDS, GraphDef

__all__ = [
    "CancelOut",
    "CheckpointOut",
    "ErrorBody",
    "FailureOut",
    "GraphCreate",
    "GraphCreated",
    "GraphList",
    "GraphOut",
    "HealthOut",
    "HistoryOut",
    "MermaidOut",
    "PageQuery",
    "RunAccepted",
    "RunCreate",
    "RunDetail",
    "RunDetailQuery",
    "RunList",
    "RunState",
    "RunSummary",
    "RunsQuery",
    "ToolList",
    "ToolOut",
    "WaitQuery",
    "WsQuery",
]


class GraphCreate(GraphDef):
    """``POST /api/v1/graph/create``: a whole graph definition (seed format, extended)."""


class GraphCreated(BaseModel):
    graph_id: str
    name: str
    description: str
    created_at: datetime


class GraphOut(BaseModel):
    graph_id: str
    name: str
    description: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    entry_point: str | None
    reducers: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class GraphList(BaseModel):
    items: list[GraphOut]
    limit: int
    offset: int
    next_offset: int | None


class RunCreate(BaseModel):
    """``POST /api/v1/graph/run``: which graph (id or name), its input, and limits."""

    model_config = ConfigDict(extra="forbid")

    graph_id: str = Field(min_length=1, description="a graph id, or a graph name")
    initial_state: dict[str, Any] = Field(default_factory=dict,
                                          description="becomes the run's state data")
    timeout: float | None = Field(None, gt=0, le=MAX_SECONDS,
                                  description="seconds before the run fails")
    max_steps: int | None = Field(None, ge=1, le=MAX_COUNT)
    config: dict[str, Any] = Field(default_factory=dict)
    wait: bool = Field(False, description="answer once the run stops (200 with its final "
                       "state), or with 202 when it still runs or waits for an answer "
                       "after wait_timeout")
    wait_timeout: float | None = Field(
        None, gt=0, le=MAX_SECONDS, description="seconds to wait with wait=true (default and "
        "cap: the server's max_wait_seconds)")


class CancelOut(BaseModel):
    run_id: str
    status: str = Field(description="cancelling (it runs here), or the status it now has")


class RunAccepted(BaseModel):
    run_id: str
    graph_id: str | None
    status: str
    started_at: datetime
    initial_state: dict[str, Any]


class RunState(BaseModel):
    """``GET /api/v1/graph/state/{run_id}`` (the seed's shape plus error and times)."""

    run_id: str
    graph_id: str | None
    status: str
    current_state: dict[str, Any]
    last_updated: datetime
    error: str | None = None
    error_type: str | None = None
    warnings: list[str] = Field(default_factory=list,
                                description="the state's warnings (nodes append to them)")
    errors: list[str] = Field(default_factory=list,
                              description="the state's errors (handled node failures)")
    started_at: datetime | None = None
    completed_at: datetime | None = None


class FailureOut(BaseModel):
    """Why a failed run failed: what was raised (``type``, ``message``), where (``node``,
    ``attempt``) and the ``traceback``."""

    type: str
    message: str
    node: str | None = None
    attempt: int | None = None
    traceback: str


class RunSummary(BaseModel):
    run_id: str
    graph_id: str | None
    graph_name: str
    status: str
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime


class RunList(BaseModel):
    items: list[RunSummary]
    limit: int
    offset: int
    next_offset: int | None


class RunDetail(RunSummary):
    initial_state: dict[str, Any]
    current_state: dict[str, Any]
    final_state: dict[str, Any] | None = None
    error_type: str | None = None
    failure: FailureOut | None = None
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    logs: list[dict[str, Any]]
    logs_limit: int
    logs_offset: int
    logs_next_offset: int | None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_COUNT)


class RunsQuery(PageQuery):
    status: str | None = Field(None, pattern="^(pending|running|waiting|completed|failed|cancelled)$")
    graph_id: str | None = None


class RunDetailQuery(BaseModel):
    """``logs_limit``/``logs_offset`` page the logs; ``limit``/``offset`` are accepted
    for them, as on every other list."""

    model_config = ConfigDict(extra="forbid")

    logs_limit: int = Field(100, ge=1, le=1000, description="log rows per page (or `limit`)",
                            validation_alias=AliasChoices("logs_limit", "limit"))
    logs_offset: int = Field(0, ge=0, le=MAX_COUNT, description="log rows to skip (or `offset`)",
                             validation_alias=AliasChoices("logs_offset", "offset"))


class WaitQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    timeout: float = Field(30.0, ge=0, le=MAX_SECONDS,
                           description="seconds; the server caps it (max_wait_seconds)")


class WsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    since: int = Field(0, ge=0, le=MAX_COUNT)
    mode: str | None = None
    #: Several messages per frame (``{"type": "batch", "messages": [...]}``); opt-in.
    batch: bool = False


class CheckpointOut(BaseModel):
    step: int
    nodes: list[str]
    state: dict[str, Any]
    changed: dict[str, Any]
    created_at: datetime


class HistoryOut(BaseModel):
    run_id: str
    checkpoints: list[CheckpointOut]
    limit: int
    next_after: int | None = Field(
        description="pass as `after` for the next page; null on the last page")


class SubgraphHistoryOut(BaseModel):
    id: str = Field(description="where the subgraph's steps are kept: <run>/<node>:<activation>")
    path: str = Field(description="the subgraph's path in the run, e.g. review/check")
    checkpoints: list[CheckpointOut]


class SubgraphsOut(BaseModel):
    """``GET /api/v1/runs/{run_id}/subgraphs``: each subgraph execution's own steps."""

    run_id: str
    subgraphs: list[SubgraphHistoryOut] = Field(
        description="a page of the executions' checkpoints, oldest execution first; an "
        "execution whose steps go on on the next page appears there again with the same id")
    limit: int
    next_cursor: str | None = Field(description="the `cursor` of the next page; null on the "
                                    "last page")


class ToolOut(BaseModel):
    name: str
    description: str
    is_async: bool
    parameters: list[str]
    doc: str | None
    config_schema: dict[str, Any] | None
    writes: list[str]


class ToolList(BaseModel):
    tools: list[ToolOut]
    conditions: list[str]


class MermaidOut(BaseModel):
    graph_id: str
    name: str
    mermaid: str


class OutageOut(BaseModel):
    """Why the database is unavailable: which store, since when, the last error."""

    store: str
    since: str
    seconds: float
    last_error: str
    failures: int


class HealthOut(BaseModel):
    status: str
    database: bool
    accepting_runs: bool
    backend: str
    outage: OutageOut | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail
