"""``python firstnode_kill.py URL BACKEND``: start one run whose first node kills this
process with SIGKILL before returning (a node that crashes its process: out of
memory, a fault in native code). Nothing after the kill runs, so what the store holds
is what the run committed before its first node began."""

from __future__ import annotations

import os
import signal
import sys

import anyio

from runtime import END, Graph, Runtime


async def boom(state):  # type: ignore[no-untyped-def]
    # No await first: the writer gets no turn between the run's start and the kill.
    os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str) -> None:
    g = Graph("first_node_kill")
    g.add_node("boom", boom)
    g.add_edge("boom", END)
    async with Runtime(url) as rt:
        run = await rt.start(g.compile(), {}, run_id="killed")
        await run.result()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], backend=sys.argv[2])
