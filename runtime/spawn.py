"""Starting the runtime's many long-lived tasks in a task group without a TaskHandle each.

Since anyio 4.14, ``TaskGroup.start_soon`` wraps every task in a
:class:`anyio.TaskHandle`: the handle, a cancel scope of its own and an Event for its
end, alive as long as the task, though ``start_soon``'s caller never holds the handle.
Under trio that is a trio CancelScope, its CancelStatus (two sets), a trio Event (one
more set) and a wrapping coroutine: ~2 KB per task. A run's task lives as long as the
run, so W3's thousand runs in flight carried ~2 MiB of handles nobody reads.

Under trio an anyio task group *is* a trio nursery (its cancel scope is the nursery's,
its ``async with`` raises what the nursery's tasks raise): the nursery's own
``start_soon`` starts the task in the same group, cancelled by the same scope, its
failure raised by the same ``async with``, with the same name. Under asyncio anyio's
task group tracks its tasks itself (its cancel scope cancels each by hand):
:class:`AsyncioSpawner` registers a task there as anyio's own ``TaskGroup._spawn`` does
(the task group's set, its cancel scope's set, anyio's per-task state, the done callback
that removes it and raises its failure through the group), only without the handle, its
cancel scope and Event, and the wrapping coroutine that enters and leaves that scope.
That is what anyio did for every task before 4.14. It relies on anyio's private parts,
so it is used only when they are all there (:func:`asyncio_supported`;
tests/runtime/test_spawn.py fails if a new anyio moves them), and a task group that is
not active, a loop with a task factory of its own or a task with no name goes through
anyio. Anywhere else (trio with the nursery moved) the task goes through anyio too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import sniffio
from anyio.abc import TaskGroup

__all__ = ["AsyncioSpawner", "Spawner", "asyncio_supported", "spawner"]


class Spawner(Protocol):
    """What starts a task in a task group: ``start_soon(fn, *args, name=...)``."""

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any,
                   name: object = None) -> object: ...


def spawner(tg: TaskGroup) -> Spawner:
    """Where to ``start_soon`` the long-lived tasks of ``tg`` (entered, in this task):
    its trio nursery under trio, else ``tg`` itself."""
    library = sniffio.current_async_library()
    if library == "trio":
        import trio

        nursery = getattr(tg, "_nursery", None)   # anyio's trio TaskGroup (4.x)
        if isinstance(nursery, trio.Nursery):
            return nursery
    elif library == "asyncio" and asyncio_supported(tg):
        return AsyncioSpawner(tg)
    return tg


#: What AsyncioSpawner uses of anyio's asyncio backend: (task group, its cancel scope).
_TG_PARTS = ("_tasks", "_exceptions", "_on_completed_fut", "cancel_scope")
_SCOPE_PARTS = ("_tasks", "_active", "_host_task", "_effectively_cancelled")


def asyncio_supported(tg: TaskGroup) -> bool:
    """Whether ``tg`` is anyio's asyncio task group with every part AsyncioSpawner uses."""
    try:
        from anyio._backends import _asyncio as backend
    except ImportError:   # pragma: no cover - anyio without its asyncio backend
        return False
    if not (isinstance(tg, backend.TaskGroup) and hasattr(backend, "_task_states")
            and hasattr(backend, "TaskState")):
        return False
    scope = getattr(tg, "cancel_scope", None)
    return (all(hasattr(tg, part) for part in _TG_PARTS)
            and all(hasattr(scope, part) for part in _SCOPE_PARTS))


class AsyncioSpawner:
    """Starts tasks in anyio's asyncio task group ``tg`` as its ``start_soon`` does,
    without a TaskHandle (see the module's text): a member of the group, cancelled by
    its cancel scope, its failure raised by its ``async with`` (and cancelling the
    others), with the name it is given."""

    __slots__ = ("_backend", "_tg")

    def __init__(self, tg: TaskGroup) -> None:
        from anyio._backends import _asyncio as backend

        self._tg: Any = tg
        self._backend: Any = backend

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any,
                   name: object = None) -> object:
        tg = self._tg
        scope = tg.cancel_scope
        loop = asyncio.get_running_loop()
        if name is None or not scope._active or loop.get_task_factory() is not None:
            return tg.start_soon(func, *args, name=name)
        backend = self._backend
        host = scope._host_task
        task = loop.create_task(func(*args), name=str(name))
        backend._task_states[task] = backend.TaskState(parent_id=id(host), cancel_scope=scope)
        scope._tasks.add(task)
        tg._tasks.add(task)
        if host is not None and hasattr(asyncio, "future_add_to_awaited_by"):  # 3.14
            asyncio.future_add_to_awaited_by(task, host)  # pragma: no cover
        task.add_done_callback(self._done)
        return None

    def _done(self, task: asyncio.Task[Any]) -> None:
        # anyio's own done callback (TaskGroup._spawn's task_done), for a task started
        # with start_soon.
        tg = self._tg
        scope = tg.cancel_scope
        if hasattr(asyncio, "future_discard_from_awaited_by") and scope._host_task is not None:
            asyncio.future_discard_from_awaited_by(task, scope._host_task)  # pragma: no cover
        state = self._backend._task_states.pop(task)
        state.cancel_scope._tasks.remove(task)
        tg._tasks.remove(task)
        if tg._on_completed_fut is not None and not tg._tasks:
            try:
                tg._on_completed_fut.set_result(None)
            except asyncio.InvalidStateError:
                pass
        exc: BaseException | None
        try:
            exc = task.exception()
        except asyncio.CancelledError as cancelled:
            exc = cancelled
        if exc is not None and not isinstance(exc, asyncio.CancelledError):
            tg._exceptions.append(exc)
        if exc is not None and not scope._effectively_cancelled:
            scope.cancel()
