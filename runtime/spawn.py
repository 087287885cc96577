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
task group tracks its tasks itself (its cancel scope cancels each by hand), so a task
goes through it; so it does under trio if the nursery is not where anyio 4.x keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import sniffio
from anyio.abc import TaskGroup

__all__ = ["Spawner", "spawner"]


class Spawner(Protocol):
    """What starts a task in a task group: ``start_soon(fn, *args, name=...)``."""

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any,
                   name: object = None) -> object: ...


def spawner(tg: TaskGroup) -> Spawner:
    """Where to ``start_soon`` the long-lived tasks of ``tg`` (entered, in this task):
    its trio nursery under trio, else ``tg`` itself."""
    if sniffio.current_async_library() == "trio":
        import trio

        nursery = getattr(tg, "_nursery", None)   # anyio's trio TaskGroup (4.x)
        if isinstance(nursery, trio.Nursery):
            return nursery
    return tg
