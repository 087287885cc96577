"""Human in the loop and time travel: what a run waits for, resume, state at a step,
edit state, fork, replay.
"""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from ..auth import Scope, principal, tenant
from ..body import json_body
from ..bounds import check_tenant_runs
from ..current import service
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


@hitl.get("/api/v1/runs/<run_id>/interrupts")
@tag(["human in the loop"])
@document_response(InterruptList)
@document_response(ErrorBody, 404)
async def interrupts(run_id: str) -> Response:
    """What the run waits for (empty unless its status is ``waiting`` or it has a
    branch waiting while others run)."""
    rt = service().rt()
    view = await rt.view(run_id)
    items = await rt.interrupts(run_id)
    return reply(InterruptList(run_id=run_id, status=view.status.value,
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
    run = await svc.rt().resume(run_id, data.answer, interrupt_id=data.interrupt_id)
    # The answered run is now executing (its task may not have begun yet).
    status = run.status.value if run.done else "running"
    return reply(ResumeOut(run_id=run.id, status=status, interrupt_id=data.interrupt_id), 202)


# "string:" spelled out: quart-schema's path regex would swallow "<run_id>/history/<int:"
@hitl.get("/api/v1/runs/<string:run_id>/history/<index:step>")
@tag(["time travel"])
@document_response(StepStateOut)
@document_response(ErrorBody, 404)
async def state_at(run_id: str, step: int) -> Response:
    """The run's state after checkpoint ``step``."""
    state = await service().rt().get_state(run_id, step)
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
    cp = await service().rt().update_state(run_id, data.values, as_node=data.as_node)
    # The state is what `runs:read` reads: a write-only credential edits without it.
    can_read = principal().has(Scope.RUNS_READ)
    return reply(StateEditOut(run_id=run_id, step=cp.step,
                              state=dict(cp.state.get("data") or {}) if can_read else None))


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
    await check_tenant_runs(svc.rt(), tenant(), svc.settings, svc.tenant_counts)
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
    await check_tenant_runs(svc.rt(), tenant(), svc.settings, svc.tenant_counts)
    run = await svc.rt().replay(run_id, data.step)
    return reply(ForkOut(run_id=run.id, parent_run_id=run_id, status=run.status.value,
                         step=data.step), 202)
