"""Ctrl-C and SIGTERM in the command line: cancel the run, don't abandon it.

Killed by a signal's default action, ``actorflow run`` would leave its run
``running`` in the database, owned by a process that is gone, until some server
opens the database and takes it over. Inside :func:`cancel_on_signal` the first
SIGINT or SIGTERM cancels the run instead: its nodes' cleanup runs and it is
recorded ``cancelled``. A second signal is handled as usual (the process stops).
A process killed outright (``kill -9``, a power cut) still leaves its run
``running``: claiming runs by lease, with expiry, is what fixes that for good.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import anyio

from runtime import Run

__all__ = ["cancel_on_signal"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@asynccontextmanager
async def cancel_on_signal(run: Run, err: TextIO | None = None) -> AsyncIterator[None]:
    """While inside, SIGINT or SIGTERM cancels ``run`` (once) and says so on ``err``."""
    out = err or sys.stderr

    async def watch() -> None:
        with anyio.open_signal_receiver(*SIGNALS) as signals:
            async for signum in signals:
                out.write(f"\nreceived {signal.Signals(signum).name}: cancelling run "
                          f"{run.id} (again to stop at once)\n")
                out.flush()
                run.cancel()
                return  # the receiver closes: a second signal acts as usual

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread: nothing to watch from here
        return
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
