"""The API's view of the runtime: graphs and runs as the HTTP layer needs them.

Routes stay thin: they parse the request, call one method here, and shape the
answer. This module maps runtime errors to :class:`ApiError` at the boundary, and
reads a run from memory when this process runs it, or else from the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
from pydantic import ValidationError

from runtime import (
    GraphError,
    GraphExistsError,
    GraphNotFoundError,
    GraphValidationError,
    Run,
    RunError,
    RunNotFoundError,
    Runtime,
    RuntimeClosedError,
)
from runtime.graph import Graph
from runtime.store.base import GraphRecord, RunRecord

from .errors import ApiError, validation_details
from .schemas import GraphCreate, RunCreate
from .settings import Settings

__all__ = ["ACTIVE_STATUSES", "ApiService"]

#: A run in these is executing somewhere; "waiting" is active but stopped (needs an answer).
EXECUTING_STATUSES = frozenset({"pending", "running"})
ACTIVE_STATUSES = frozenset({"pending", "running", "waiting"})
#: How often a run that lives in no runtime here is re-read from the store.
STORE_POLL_SECONDS = 0.25


class ApiService:
    """Holds the process's Runtime (once serving) and whether new runs are accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.draining = False

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def accepting(self) -> bool:
        return self.runtime is not None and not self.draining

    def rt(self) -> Runtime:
        if self.runtime is None:
            raise ApiError(503, "unavailable", "the runtime is not running",
                           headers={"Retry-After": "1"})
        return self.runtime

    async def drain(self) -> None:
        """Stop taking runs and release the running ones (they resume on next start)."""
        self.draining = True
        if self.runtime is not None:
            await self.runtime.shutdown()

    # -- graphs ---------------------------------------------------------------------------
    async def create_graph(self, body: GraphCreate) -> GraphRecord:
        """Validate, compile and store a graph: 400 listing every problem, 409 on a name clash."""
        problems = [] if self.settings.allow_imports else _import_problems(body)
        if problems:
            raise _invalid(body.name, problems)
        try:
            graph = Graph.from_json(body, registry=self.rt().registry)
            compiled = graph.compile()
        except GraphValidationError as exc:
            raise _invalid(body.name, exc.problems) from exc
        except GraphError as exc:
            raise _invalid(body.name, [str(exc)]) from exc
        try:
            return await self.rt().save_graph(compiled, graph_id=str(uuid.uuid4()))
        except GraphExistsError as exc:
            raise ApiError(409, "graph_exists", str(exc), {"name": exc.name}) from exc

    async def get_graph(self, key: str) -> GraphRecord:
        record = await self.rt().store.get_graph(key)
        if record is None:
            raise ApiError(404, "graph_not_found", f"no graph with id or name {key!r}",
                           {"graph_id": key})
        return record

    async def mermaid(self, key: str) -> tuple[GraphRecord, str]:
        record = await self.get_graph(key)
        try:
            compiled, _ = await self.rt().load_graph(record.id)
        except GraphError as exc:
            raise ApiError(409, "graph_unloadable", f"the stored graph cannot be loaded: {exc}"
                           ) from exc
        return record, compiled.to_mermaid()

    # -- runs -----------------------------------------------------------------------------
    def check_accepting(self) -> None:
        """503 while the server drains: it starts no run and resumes none."""
        if not self.accepting:
            raise ApiError(503, "shutting_down", "the server is shutting down and takes no "
                           "new runs; retry on another instance or after the restart",
                           headers={"Retry-After": "5"})

    async def start_run(self, body: RunCreate) -> Run:
        """Start a run of a stored graph: 404 unknown graph, 400 bad input, 503 draining."""
        self.check_accepting()
        rt = self.rt()
        try:
            # Cached by the runtime after the first start: no store read per run.
            compiled, record = await rt.load_graph(body.graph_id)
        except GraphNotFoundError as exc:
            raise ApiError(404, "graph_not_found", f"no graph with id or name "
                           f"{body.graph_id!r}", {"graph_id": body.graph_id}) from exc
        except GraphError as exc:
            raise ApiError(409, "graph_unloadable", f"the stored graph cannot be loaded: {exc}"
                           ) from exc
        if record is None:
            record = await self.get_graph(body.graph_id)
        schema = compiled.graph.state_schema
        if schema is not None:
            try:
                schema.model_validate(body.initial_state)
            except ValidationError as exc:
                details = validation_details(exc)
                for d in details:
                    d["path"] = "initial_state." + d["path"]
                raise ApiError(400, "invalid_initial_state",
                               "initial_state does not match the graph's state schema",
                               details) from exc
        try:
            return await rt.start(record.id, body.initial_state, timeout=body.timeout,
                                  max_steps=body.max_steps, config=body.config)
        except RuntimeClosedError as exc:
            raise ApiError(503, "shutting_down", "the server is shutting down",
                           headers={"Retry-After": "5"}) from exc

    def live(self, run_id: str) -> Run | None:
        """The run if this process holds it in memory."""
        if self.runtime is None:
            return None
        try:
            return self.runtime.get(run_id)
        except RunNotFoundError:
            return None

    async def record(self, run_id: str) -> RunRecord:
        found = await self.rt().store.get_run(run_id)
        if found is None:
            raise ApiError(404, "run_not_found", f"no run with id {run_id!r}", {"run_id": run_id})
        return found

    async def run_state(self, run_id: str) -> dict[str, Any]:
        """The seed's state view: status, current data, last update, error."""
        run = self.live(run_id)
        if run is not None and not run.done:
            return live_state(run)  # fresher than the store while it executes here
        # A stopped run: the store has the last word (a later state edit included).
        return stored_state(await self.record(run_id))

    async def cancel(self, run_id: str) -> dict[str, Any]:
        run = self.live(run_id)
        if run is not None:
            if run.done:
                raise _finished(run_id, run.status.value)
            run.cancel()
            return {"run_id": run_id, "status": "cancelling"}
        record = await self.record(run_id)
        if record.status not in ACTIVE_STATUSES:
            raise _finished(run_id, record.status)
        try:
            status = await self.rt().cancel(run_id)
        except RunError as exc:
            raise ApiError(409, "not_cancellable", str(exc)) from exc
        return {"run_id": run_id, "status": status.value}

    async def wait(self, run_id: str, timeout: float) -> dict[str, Any]:
        """Long-poll: the run's state once it stops (finished, or waiting for an answer)
        or ``timeout`` passes."""
        timeout = min(timeout, self.settings.max_wait_seconds)
        run = self.live(run_id)
        if run is not None:
            with anyio.move_on_after(timeout):
                await run.wait()
            return live_state(run)
        record = await self.record(run_id)
        with anyio.move_on_after(timeout):
            while record.status in EXECUTING_STATUSES and not self.draining:
                await anyio.sleep(STORE_POLL_SECONDS)
                record = await self.record(run_id)
        return stored_state(record)


# -- views ---------------------------------------------------------------------------------
def live_state(run: Run) -> dict[str, Any]:
    last = run.hub.events_since(run.hub.next_seq - 1)
    updated = run.completed_at or (
        datetime.fromtimestamp(last[-1].ts, UTC) if last else run.started_at or run.created_at)
    return {
        "run_id": run.id, "graph_id": run.graph_id, "status": run.status.value,
        "current_state": dict(run.state.data), "last_updated": updated,
        "error": str(run.error) if run.error is not None and run.status.finished else None,
        "error_type": type(run.error).__name__ if run.error is not None
        and run.status.finished else None,
        "started_at": run.started_at, "completed_at": run.completed_at,
    }


def stored_data(record: RunRecord) -> dict[str, Any]:
    # current_state is the latest (a finished run's final state, or a later edit of it).
    state = record.current_state or record.final_state or record.initial_state or {}
    return dict(state.get("data") or {})


def stored_state(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.id, "graph_id": record.graph_id, "status": record.status,
        "current_state": stored_data(record), "last_updated": record.updated_at,
        "error": record.error, "error_type": record.error_type,
        "started_at": record.started_at, "completed_at": record.completed_at,
    }


def _invalid(name: str, problems: list[str]) -> ApiError:
    return ApiError(400, "invalid_graph",
                    f"graph {name!r} is invalid ({len(problems)} problem(s))",
                    {"problems": problems})


def _finished(run_id: str, status: str) -> ApiError:
    return ApiError(409, "run_finished", f"run {run_id} already finished ({status})",
                    {"run_id": run_id, "status": status})


def _import_problems(body: GraphCreate) -> list[str]:
    problems = [f"node {n.name!r}: 'fn' import paths are disabled on this server; use a "
                f"registered tool (GET /api/v1/tools lists them)" for n in body.nodes if n.fn]
    if body.state_schema:
        problems.append("state_schema import paths are disabled on this server")
    problems += [f"edge from {e.source!r}: condition_fn import paths are disabled on this "
                 "server; use a registered condition" for e in body.edges
                 if e.condition_fn and ":" in e.condition_fn]
    return problems
