"""The tasks of the running event loop, on asyncio and trio alike (for the tests that
count the tasks a run leaves behind or check which task ran a node)."""

from __future__ import annotations

import asyncio

import sniffio


def live_tasks() -> int:
    """How many tasks the loop has: ``asyncio.all_tasks()`` on asyncio, and on trio every
    task under the root task's nurseries."""
    if sniffio.current_async_library() == "trio":
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(count(child) for nursery in task.child_nurseries
                           for child in nursery.child_tasks)

        return count(trio.lowlevel.current_root_task())
    return len(asyncio.all_tasks())


def current_task() -> object:
    """The task object itself (kept by the caller, so no id is reused by a later task)."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_task()
    task = asyncio.current_task()
    assert task is not None
    return task
