"""Workload for test_writer_rows: queue events as rows, then a step, wait for its
commit, say "acked" and hang until killed. Usage: rows_then_wait.py URL BACKEND"""

from __future__ import annotations

import sys
import time

import anyio

from runtime.events import Event, EventType
from runtime.store import Checkpoint, open_store


async def main(url: str) -> None:
    store = open_store(url)
    await store.open()
    writer = store._writer   # type: ignore[attr-defined]
    writer.linger = 3600      # nothing is written but what the wait below asks for
    for seq in range(5):
        store.append_event(Event(seq, "r", EventType.NODE_STARTED, time.time(), "n"))
    mark = await store.queue_checkpoint(Checkpoint(run_id="r", step=0, state={"data": {}}))
    await store.wait_committed("r", mark)
    # Queued after the acknowledged step: nobody was told these are durable.
    store.append_event(Event(5, "r", EventType.NODE_STARTED, time.time(), "n"))
    print("acked", flush=True)
    await anyio.sleep(3600)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], backend=sys.argv[2])
