"""Runs: start and state (the seed's), list, detail with logs, cancel, wait, history."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g
from quart_schema import document_querystring, document_response, tag

from runtime.store.base import Checkpoint, RunRecord

from ..auth import Scope, principal, readable, stamp, tenant, visible_graph
from ..body import json_body, parse_query
from ..current import service
from ..errors import ApiError
from ..history_pages import HistoryQuery, SubgraphsQuery, checkpoint_out, page, subgraph_page
from ..schemas import (
    CancelOut,
    ErrorBody,
    FailureOut,
    HistoryOut,
    RunAccepted,
    RunCreate,
    RunDetail,
    RunDetailQuery,
    RunList,
    RunsQuery,
    RunState,
    RunSummary,
    SubgraphHistoryOut,
    SubgraphsOut,
    WaitQuery,
)
from ..service import run_state as state_of
from ..telemetry import request_trace
from . import reply

__all__ = ["runs", "summary"]

runs = Blueprint("runs", __name__)


@runs.post("/api/v1/graph/run")
@tag(["runs"])
@document_response(RunState, 200)
@document_response(RunAccepted, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 429)
@document_response(ErrorBody, 503)
@json_body(RunCreate)
async def start_run(data: RunCreate) -> Response:
    """Start a run of a stored graph; answers at once with the run id (202).

    Watch it at ``WS /api/v1/graph/ws/{run_id}``, or poll
    ``GET /api/v1/graph/state/{run_id}``, or long-poll ``GET /api/v1/runs/{id}/wait``.
    With ``"wait": true`` (scope ``runs:read`` too) the answer comes once the run
    stops: 200 with its final state when it finished, 202 with its id and status when
    it still runs or waits for an answer after ``wait_timeout`` seconds.
    """
    if data.wait and Scope.RUNS_READ not in principal().scopes:
        raise ApiError(403, "forbidden", "\"wait\": true reads the run's state, which needs "
                       "the scope 'runs:read'; start without wait, or use a credential with "
                       "it", {"missing_scope": Scope.RUNS_READ})
    graph = await visible_graph(data.graph_id)  # 404 for another tenant's graph
    svc = service()
    run = await svc.start_run(data, graph=graph.id if graph else None, tenant=tenant(),
                              config=stamp("run", data.config), trace_parent=request_trace())
    g.audit_resource = f"run:{run.id}"  # the audit entry needs not parse the answer
    if data.wait:
        view = await svc.outcome(run, data.wait_timeout)
        if view.status.finished:
            return reply(RunState.model_validate(state_of(view)))
        return reply(RunAccepted(run_id=view.id, graph_id=view.graph_id,
                                 status=view.status.value, started_at=view.created_at,
                                 initial_state=data.initial_state), 202)
    return reply(RunAccepted(run_id=run.id, graph_id=run.graph_id, status="pending",
                             started_at=run.created_at, initial_state=data.initial_state), 202)


@runs.get("/api/v1/graph/state/<run_id>")
@tag(["runs"])
@document_response(RunState)
@document_response(ErrorBody, 404)
async def run_state(run_id: str) -> Response:
    """A run's status and current state data, with the state's warnings and errors."""
    view = await service().rt().view(run_id)
    return reply(RunState.model_validate(state_of(view)))


@runs.get("/api/v1/runs")
@tag(["runs"])
@document_querystring(RunsQuery)
@document_response(RunList)
async def list_runs() -> Response:
    """Runs, newest first, filtered by status and graph, a page at a time."""
    q = parse_query(RunsQuery)
    svc = service()
    records = readable("run", await svc.rt().store.list_runs(
        status=q.status, graph_id=q.graph_id, limit=q.limit, offset=q.offset, tenant=tenant()))
    return reply(RunList(items=[summary(r) for r in records], limit=q.limit, offset=q.offset,
                         next_offset=q.offset + q.limit if len(records) == q.limit else None))


@runs.get("/api/v1/runs/<run_id>")
@tag(["runs"])
@document_querystring(RunDetailQuery)
@document_response(RunDetail)
@document_response(ErrorBody, 404)
async def get_run(run_id: str) -> Response:
    """A run with its execution logs (the seed's rows), a page of logs at a time; a failed
    run's ``failure`` says what was raised, where, and its traceback."""
    q = parse_query(RunDetailQuery)
    rt = service().rt()
    view = await rt.view(run_id)
    logs = await rt.store.list_logs(run_id, limit=q.logs_limit, offset=q.logs_offset)
    return reply(RunDetail(
        run_id=view.id, graph_id=view.graph_id, graph_name=view.graph_name,
        status=view.status.value, error=view.error, error_type=view.error_type,
        failure=FailureOut(**view.failure.model_dump()) if view.failure is not None else None,
        created_at=view.created_at, started_at=view.started_at,
        completed_at=view.completed_at, updated_at=view.updated_at,
        initial_state=view.input, current_state=view.data, final_state=view.final,
        warnings=view.warnings, errors=view.errors,
        logs=logs, logs_limit=q.logs_limit, logs_offset=q.logs_offset,
        logs_next_offset=q.logs_offset + q.logs_limit if len(logs) == q.logs_limit else None))


@runs.post("/api/v1/runs/<run_id>/cancel")
@tag(["runs"])
@document_response(CancelOut, 202)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
async def cancel_run(run_id: str) -> tuple[dict[str, Any], int]:
    """Cancel a run (202); 409 if it already finished."""
    return await service().cancel(run_id), 202


@runs.get("/api/v1/runs/<run_id>/wait")
@tag(["runs"])
@document_querystring(WaitQuery)
@document_response(RunState)
@document_response(ErrorBody, 404)
async def wait_run(run_id: str) -> Response:
    """Long-poll: answers when the run ends or after ``timeout`` seconds (status tells which)."""
    q = parse_query(WaitQuery)
    return reply(RunState.model_validate(state_of(await service().wait(run_id, q.timeout))))


@runs.get("/api/v1/runs/<run_id>/history")
@tag(["runs"])
@document_querystring(HistoryQuery)
@document_response(HistoryOut)
@document_response(ErrorBody, 404)
async def run_history(run_id: str) -> Response:
    """The run's checkpoints, one per step, oldest first (step 0: its input, before any
    node), each with its state data, a page at a time: at most ``limit`` (server
    maximum 200) and a few MiB of state per page; ``next_after`` is the ``after`` of
    the next page (null on the last)."""
    q = parse_query(HistoryQuery)
    rt = service().rt()
    await rt.view(run_id)  # 404 for an unknown run (it has no checkpoints either)
    got = await rt.history(run_id, after=q.after, limit=q.limit + 1)
    kept, more = page(got, q.limit, checkpoint_out)
    return reply(HistoryOut(run_id=run_id, checkpoints=[out for _, out in kept],
                            limit=q.limit, next_after=kept[-1][0].step if more else None))


@runs.get("/api/v1/runs/<run_id>/subgraphs")
@tag(["runs"])
@document_querystring(SubgraphsQuery)
@document_response(SubgraphsOut)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
async def run_subgraphs(run_id: str) -> Response:
    """The steps of each subgraph the run executed (nested ones after their parent),
    checkpointed under the run: its history reaching into its subgraphs, a page at a
    time (at most ``limit`` checkpoints and a few MiB of state; follow ``next_cursor``)."""
    q = parse_query(SubgraphsQuery)
    rt = service().rt()
    children = await rt.subgraph_runs(run_id)
    if q.cursor is not None and int(q.cursor.split(":")[0]) >= max(len(children), 1):
        raise ApiError(400, "bad_cursor",
                       f"cursor {q.cursor!r} points past the run's {len(children)} subgraph "
                       "executions; pass a `next_cursor` this endpoint returned, or none "
                       "for the first page")

    async def history(child: str, after: int, limit: int) -> list[Checkpoint]:
        return await rt.history(child, after=after, limit=limit)

    got, next_cursor = await subgraph_page(children, q.limit, q.cursor, history)
    out = [SubgraphHistoryOut(
        id=child, checkpoints=[item for _, item in items],
        path=next((c.position.path for c, _ in items if c.position is not None), ""))
        for child, items in got]
    return reply(SubgraphsOut(run_id=run_id, subgraphs=out, limit=q.limit,
                              next_cursor=next_cursor))


def summary(r: RunRecord) -> RunSummary:
    return RunSummary(run_id=r.id, graph_id=r.graph_id, graph_name=r.graph_name,
                      status=r.status, error=r.error, created_at=r.created_at,
                      started_at=r.started_at, completed_at=r.completed_at,
                      updated_at=r.updated_at)
