"""Threads: conversations over many runs (create, list, get, state, runs, history,
copy, delete), one writer at a time."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_querystring, document_response, tag

from runtime.store.base import ThreadRecord
from runtime.status import ACTIVE

from ..auth import readable, stamp, tenant, visible_graph
from ..bounds import check_tenant_runs, run_bounds
from ..body import json_body, parse_query
from ..current import service
from ..history_pages import ThreadHistoryQuery, checkpoint_out, page
from ..schemas import ErrorBody, PageQuery, RunAccepted
from ..telemetry import request_trace
from ..thread_schemas import (
    ThreadCopyIn,
    ThreadCreate,
    ThreadDeleted,
    ThreadHistoryOut,
    ThreadList,
    ThreadOut,
    ThreadRunCreate,
    ThreadRunList,
    ThreadStateOut,
)
from . import reply
from .runs import summary

__all__ = ["threads"]

threads = Blueprint("threads", __name__)


async def _out(t: ThreadRecord) -> ThreadOut:
    active = None
    if t.writer is not None:
        holder = await service().rt().store.get_run(t.writer)
        active = t.writer if holder is not None and holder.status in ACTIVE else None
    return ThreadOut(thread_id=t.id, tenant=t.tenant, graph_name=t.graph_name,
                     metadata=t.metadata, copied_from=t.copied_from, active_run_id=active,
                     created_at=t.created_at, updated_at=t.updated_at)


@threads.post("/api/v1/threads")
@tag(["threads"])
@document_response(ThreadOut, 201)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ThreadCreate)
async def create_thread(data: ThreadCreate) -> Response:
    """Create an empty thread (201); 404 for an unknown ``graph_id``, 409 if the id is
    taken."""
    rt = service().rt()
    graph = None
    if data.graph_id is not None:
        await visible_graph(data.graph_id)  # 404 for another tenant's graph
        graph = (await rt.load_graph(data.graph_id, tenant=tenant()))[0].name
    record = await rt.threads.create(data.thread_id, graph=graph, metadata=data.metadata,
                                     tenant=tenant())
    return reply(await _out(record), 201)


@threads.get("/api/v1/threads")
@tag(["threads"])
@document_querystring(PageQuery)
@document_response(ThreadList)
async def list_threads() -> Response:
    """Threads, newest first, a page at a time."""
    q = parse_query(PageQuery)
    # The caller's tenant's only, in the query: counting pages over every tenant's
    # told how many threads the others have (the security review).
    records = await service().rt().threads.list(limit=q.limit, offset=q.offset,
                                                tenant=tenant())
    mine = readable("thread", records)
    return reply(ThreadList(items=[await _out(t) for t in mine], limit=q.limit,
                            offset=q.offset,
                            next_offset=q.offset + q.limit if len(records) == q.limit else None))


@threads.get("/api/v1/threads/<thread_id>")
@tag(["threads"])
@document_response(ThreadOut)
@document_response(ErrorBody, 404)
async def get_thread(thread_id: str) -> Response:
    """A thread, with the run holding it (if one is active)."""
    return reply(await _out(await service().rt().threads.get(thread_id)))


@threads.delete("/api/v1/threads/<thread_id>")
@tag(["threads"])
@document_response(ThreadDeleted)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
async def delete_thread(thread_id: str) -> Response:
    """Delete a thread and its runs; 409 while a run of it is active."""
    gone = await service().rt().threads.delete(thread_id)
    return reply(ThreadDeleted(thread_id=thread_id, deleted=True, runs_deleted=gone))


@threads.get("/api/v1/threads/<thread_id>/state")
@tag(["threads"])
@document_response(ThreadStateOut)
@document_response(ErrorBody, 404)
async def thread_state(thread_id: str) -> Response:
    """The data the thread's next run starts from (before its input is merged in)."""
    state = await service().rt().threads.state(thread_id)
    return reply(ThreadStateOut(thread_id=thread_id, state=state))


@threads.post("/api/v1/threads/<thread_id>/runs")
@tag(["threads"])
@document_response(RunAccepted, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ThreadRunCreate)
async def start_thread_run(thread_id: str, data: ThreadRunCreate) -> Response:
    """Start a turn of the conversation (202): the thread's latest state with ``input``
    merged in. 409 ``thread_busy`` when a run of the thread is active and
    ``multitask`` is ``reject``; ``enqueue`` waits for it, ``interrupt`` cancels it."""
    svc = service()
    svc.check_accepting()
    graph = await visible_graph(data.graph_id)  # 404 for another tenant's graph
    await check_tenant_runs(svc.rt(), tenant(), svc.settings, svc.tenant_counts)
    run = await svc.rt().start(graph.id if graph else data.graph_id, data.input,
                               thread_id=thread_id, multitask=data.multitask,
                               timeout=data.timeout or svc.settings.default_run_timeout or None,
                               max_steps=data.max_steps, config=stamp("run", data.config),
                               tenant=tenant(), trace_parent=request_trace(),
                               bounds=run_bounds(svc.settings))
    return reply(RunAccepted(run_id=run.id, graph_id=run.graph_id, status=run.status.value,
                             started_at=run.created_at, initial_state=data.input), 202)


@threads.get("/api/v1/threads/<thread_id>/runs")
@tag(["threads"])
@document_response(ThreadRunList)
@document_response(ErrorBody, 404)
async def thread_runs(thread_id: str) -> Response:
    """The thread's runs, oldest first."""
    runs = await service().rt().threads.runs(thread_id)
    return reply(ThreadRunList(thread_id=thread_id, runs=[summary(r) for r in runs]))


@threads.get("/api/v1/threads/<thread_id>/history")
@tag(["threads"])
@document_querystring(ThreadHistoryQuery)
@document_response(ThreadHistoryOut)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 404)
async def thread_history(thread_id: str) -> Response:
    """The checkpoints of the thread's runs, run by run, oldest first, a page at a time:
    at most ``limit`` (server maximum 200) and a few MiB of state per page;
    ``next_cursor`` is the ``cursor`` of the next page (null on the last)."""
    q = parse_query(ThreadHistoryQuery)
    after = None
    if q.cursor is not None:
        run_id, step = q.cursor.rsplit(":", 1)
        after = (run_id, int(step))
    got = await service().rt().threads.history(thread_id, after=after, limit=q.limit + 1)
    kept, more = page(got, q.limit, checkpoint_out)
    last = kept[-1][0] if kept else None
    return reply(ThreadHistoryOut(
        thread_id=thread_id, run_ids=[c.run_id for c, _ in kept],
        checkpoints=[out for _, out in kept], limit=q.limit,
        next_cursor=f"{last.run_id}:{last.step}" if more and last is not None else None))


@threads.post("/api/v1/threads/<thread_id>/copy")
@tag(["threads"])
@document_response(ThreadOut, 201)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@json_body(ThreadCopyIn)
async def copy_thread(thread_id: str, data: ThreadCopyIn) -> Response:
    """Copy a thread (201): a new conversation starting from this one's latest state."""
    record = await service().rt().threads.copy(thread_id, data.thread_id)
    return reply(await _out(record), 201)
