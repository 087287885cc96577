"""What ``Runtime.start`` builds for every new run: its id, first state and record.

A thousand runs started at once (W3) pay for these a thousand times, so each is built
the cheap way when its values are already what validation would make of them (a
``str`` run id, ``str`` keys...): pydantic's validation of the same values copies the
dicts and checks every field again, for the same model. Anything else (a key that is
not a ``str``, a tenant given as a number) goes through the models' validation as
before, so a bad value gets the very error it always got.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from .state import WorkflowState, trusted
from .status import RunStatus
from .store.base import RunRecord

__all__ = ["new_run_id", "new_run_record", "new_state"]

#: Random bytes drawn from the OS 16 per run id, ``_BATCH`` ids' worth at a time: one
#: system call per batch instead of one per id (``uuid.uuid4`` draws 16 at a time).
_BATCH = 64
_pool = bytearray()


def new_run_id() -> str:
    """A random (version 4) UUID as ``str(uuid.uuid4())`` spells it, from the same
    source (``os.urandom``), without building a ``UUID`` object and its integer."""
    global _pool
    if not _pool:
        _pool = bytearray(os.urandom(16 * _BATCH))
    b = _pool[-16:]
    del _pool[-16:]
    b[6] = b[6] & 0x0F | 0x40   # version 4
    b[8] = b[8] & 0x3F | 0x80   # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _plain(mapping: dict[str, Any]) -> bool:
    """Every key a ``str`` itself: what validating ``dict[str, Any]`` keeps as it is."""
    return all(type(k) is str for k in mapping)


def new_state(workflow_id: str, run_id: str, data: dict[str, Any],
              config: dict[str, Any]) -> WorkflowState:
    """A run's first state (``data`` and ``config`` are the caller's own new dicts)."""
    if type(workflow_id) is str and type(run_id) is str and _plain(data) and _plain(config):
        return trusted(WorkflowState, {
            "workflow_id": workflow_id, "run_id": run_id, "timestamp": datetime.now(UTC),
            "iteration": 0, "data": data, "errors": [], "warnings": [], "config": config})
    return WorkflowState(workflow_id=workflow_id, run_id=run_id, data=data, config=config)


def _str_or_none(value: object) -> bool:
    return value is None or type(value) is str


def new_run_record(*, id: str, graph_id: str | None, graph_name: str,
                   initial_state: dict[str, Any], owner: str | None,
                   parent_run_id: str | None, options: dict[str, Any],
                   thread_id: str | None, tenant: str, created_at: datetime
                   ) -> RunRecord:
    """A new run's record, status pending (``initial_state`` and ``options`` are the
    caller's own new dicts, handed over)."""
    if (type(id) is str and type(graph_name) is str and type(tenant) is str
            and _str_or_none(graph_id) and _str_or_none(owner)
            and _str_or_none(parent_run_id) and _str_or_none(thread_id)
            and type(created_at) is datetime and _plain(initial_state) and _plain(options)):
        return trusted(RunRecord, {
            "id": id, "graph_id": graph_id, "graph_name": graph_name,
            "status": RunStatus.PENDING, "initial_state": initial_state,
            "current_state": None, "final_state": None, "error": None, "error_type": None,
            "failure": None, "options": options, "parent_run_id": parent_run_id,
            "thread_id": thread_id, "owner": owner, "interruptions": 0, "tenant": tenant,
            "lease_epoch": 0, "lease_until": None, "created_at": created_at,
            "started_at": None, "completed_at": None, "updated_at": datetime.now(UTC)})
    return RunRecord(id=id, graph_id=graph_id, graph_name=graph_name,
                     status=RunStatus.PENDING, initial_state=initial_state, owner=owner,
                     parent_run_id=parent_run_id, options=options, thread_id=thread_id,
                     tenant=tenant, created_at=created_at)

