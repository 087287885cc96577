"""Human in the loop and time travel: what a run waits for, resume, state at a step,
edit state, fork, replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quart import Blueprint, Response
from quart_schema import document_response, tag

from runtime import (
    ActorflowError,
    GraphError,
    InvalidResume,
    RunError,
    RunNotFoundError,
    StateError,
)
from runtime.timetravel import waiting_interrupts

from ..body import json_body
from ..current import service
from ..errors import ApiError
from ..hitl_schemas import (
    ForkIn,
    ForkOut,
    InterruptList,
    InterruptOut,
    ReplayIn,
    ResumeIn,
    ResumeOut,
    StateEditIn,
    StateEditOut,
    StepStateOut,
)
from ..schemas import ErrorBody
from . import reply

__all__ = ["hitl"]

hitl = Blueprint("hitl", __name__)


@asynccontextmanager
async def _mapped(run_id: str) -> AsyncIterator[None]:
    """Runtime errors as HTTP errors: 404 unknown run, 400 a bad answer or edit, 409 a
    request the run's state does not allow."""
    try:
        yield
    except RunNotFoundError as exc:
        raise ApiError(404, "run_not_found", f"no run with id {run_id}") from exc
    except InvalidResume as exc:
        if exc.details:
            raise ApiError(400, "invalid_answer", str(exc), exc.details) from exc
        raise ApiError(409, "not_resumable", str(exc)) from exc
    except (StateError, GraphError) as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc
    except (RunError, ActorflowError) as exc:
        raise ApiError(409, "conflict", str(exc)) from exc


@hitl.get("/api/v1/runs/<run_id>/interrupts")
@tag(["human in the loop"])
@document_response(InterruptList)
@document_response(ErrorBody, 404)
async def interrupts(run_id: str) -> Response:
    """What the run waits for (empty unless its status is ``waiting`` or it has a
    branch waiting while others run)."""
    svc = service()
    record = await svc.record(run_id)
    live = svc.live(run_id)
    if live is not None and not live.done:
        items = live.interrupts
        status = live.status.value
    else:
        items = await waiting_interrupts(svc.rt(), run_id)
        status = record.status
    return reply(InterruptList(run_id=run_id, status=status,
                               interrupts=[InterruptOut(**i) for i in items]))


@hitl.post("/api/v1/runs/<run_id>/resume")
@tag(["human in the loop"])
@document_response(ResumeOut, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ResumeIn)
async def resume(run_id: str, data: ResumeIn) -> Response:
    """Answer a waiting run (202); it goes on from exactly where it waited.

    400 if the answer fails the interrupt's schema (with field paths); 409 for an
    unknown or already answered interrupt id, or a run that is not waiting.
    """
    svc = service()
    svc.check_accepting()
    async with _mapped(run_id):
        run = await svc.rt().resume(run_id, data.answer, interrupt_id=data.interrupt_id)
    # The answered run is now executing (its task may not have begun yet).
    status = run.status.value if run.done else "running"
    return reply(ResumeOut(run_id=run.id, status=status, interrupt_id=data.interrupt_id), 202)


# "string:" spelled out: quart-schema's path regex would swallow "<run_id>/history/<int:"
@hitl.get("/api/v1/runs/<string:run_id>/history/<int:step>")
@tag(["time travel"])
@document_response(StepStateOut)
@document_response(ErrorBody, 404)
async def state_at(run_id: str, step: int) -> Response:
    """The run's state after checkpoint ``step``."""
    svc = service()
    await svc.record(run_id)
    async with _mapped(run_id):
        try:
            state = await svc.rt().get_state(run_id, step)
        except RunError as exc:
            raise ApiError(404, "checkpoint_not_found", str(exc)) from exc
    return reply(StepStateOut(run_id=run_id, step=step, state=state.data, errors=state.errors,
                              warnings=state.warnings))


@hitl.post("/api/v1/runs/<run_id>/state")
@tag(["time travel"])
@document_response(StateEditOut)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(StateEditIn)
async def edit_state(run_id: str, data: StateEditIn) -> Response:
    """Edit a stopped (waiting or finished) run's state as if ``as_node`` wrote it; the
    edit is a new checkpoint. 409 while the run executes."""
    svc = service()
    async with _mapped(run_id):
        cp = await svc.rt().update_state(run_id, data.values, as_node=data.as_node)
    return reply(StateEditOut(run_id=run_id, step=cp.step,
                              state=dict(cp.state.get("data") or {})))


@hitl.post("/api/v1/runs/<run_id>/fork")
@tag(["time travel"])
@document_response(ForkOut, 202)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ForkIn)
async def fork(run_id: str, data: ForkIn) -> Response:
    """A new run from checkpoint ``step`` of this one, linked to it; the original is
    untouched (202)."""
    svc = service()
    svc.check_accepting()
    await svc.record(run_id)
    async with _mapped(run_id):
        run = await svc.rt().fork(run_id, data.step, values=data.values)
    return reply(ForkOut(run_id=run.id, parent_run_id=run_id, status=run.status.value,
                         step=data.step), 202)


@hitl.post("/api/v1/runs/<run_id>/replay")
@tag(["time travel"])
@document_response(ForkOut, 202)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ReplayIn)
async def replay(run_id: str, data: ReplayIn) -> Response:
    """Run a finished run again with the same inputs, from its start or a checkpoint;
    the new run records that it is a replay (202)."""
    svc = service()
    svc.check_accepting()
    await svc.record(run_id)
    async with _mapped(run_id):
        run = await svc.rt().replay(run_id, data.step)
    return reply(ForkOut(run_id=run.id, parent_run_id=run_id, status=run.status.value,
                         step=data.step), 202)
