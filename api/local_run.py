"""``actorflow run``: run a graph in this process and print its live log and final state.

The log goes to stderr, one line per event; the final state to stdout as JSON (so
``actorflow run g.json > out.json`` keeps only the result). On a terminal, a
progress line (steps done, nodes running, elapsed time) stays under the log.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from runtime import Event, EventType, Graph, Run, Runtime
from runtime.store import open_store

from .cli_signals import cancel_on_signal

__all__ = ["format_event", "run_graph"]

#: Exit codes: the run completed, failed, or was cancelled.
EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130


def format_event(event: Event) -> str:
    """One log line for an event."""
    clock = time.strftime("%H:%M:%S", time.localtime(event.ts))
    node = f" {event.node}" if event.node else ""
    extra = ""
    data = event.data
    if event.type is EventType.NODE_COMPLETED and "duration_ms" in data:
        extra = f" ({data['duration_ms']:.1f} ms)"
    elif data.get("error"):
        extra = f": {data['error']}"
    elif event.type is EventType.LOG and "message" in data:
        extra = f": {data['message']}"
    elif event.type is EventType.STATE_UPDATED:
        extra = f": {', '.join(sorted(data.get('update') or {}))}"
    return f"{clock} #{event.seq:<4} {event.type.value}{node}{extra}"


class _Progress:
    """A one-line progress display, redrawn under the log on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()
        self.started = time.monotonic()
        self.steps = 0
        self.running: set[str] = set()

    def log(self, line: str) -> None:
        if self.enabled:
            self.out.write("\r\033[K")
        self.out.write(line + "\n")
        self.draw()

    def update(self, event: Event) -> None:
        if event.type is EventType.NODE_STARTED and event.node:
            self.running.add(event.node)
        elif event.type in (EventType.NODE_COMPLETED, EventType.NODE_FAILED) and event.node:
            self.running.discard(event.node)
            self.steps += event.type is EventType.NODE_COMPLETED

    def draw(self) -> None:
        if not self.enabled:
            return
        running = ", ".join(sorted(self.running)) or "-"
        elapsed = time.monotonic() - self.started
        self.out.write(f"\r\033[K[{self.steps} steps | running: {running} | {elapsed:.1f}s]")
        self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("\r\033[K")
            self.out.flush()


async def run_graph(graph_ref: str, input_data: dict[str, Any], *, database_url: str,
                    timeout: float | None = None, out: TextIO | None = None,
                    err: TextIO | None = None) -> int:
    """Run ``graph_ref`` (a JSON file, or a stored graph's id or name) and print it.

    Returns the process exit code.
    """
    out = out or sys.stdout
    progress = _Progress(err or sys.stderr)
    import nodes

    # recover=False: this process runs one graph; it must never claim the runs a
    # server (or another process) is executing on the same database. The example
    # workflows are known by name ("code_review", "summarization") even in a new file.
    async with Runtime(open_store(database_url), recover=False,
                       graphs=nodes.register_all()) as rt:
        from nodes.finance.current import use_store_cache as use_market_cache
        from nodes.llm_node import use_store_cache

        from .examples import save_examples

        use_store_cache(rt.store)
        use_market_cache(rt.store)
        await save_examples(rt)
        target: Any = graph_ref
        path = Path(graph_ref)
        if graph_ref.endswith(".json") or path.is_file():
            target = Graph.from_json(json.loads(path.read_text())).compile()
        run: Run = await rt.start(target, input_data, timeout=timeout)
        progress.log(f"run {run.id} of graph {run.graph.name!r}")
        try:
            async with cancel_on_signal(run, progress.out):
                # Unbounded (printing never lags); ends when the run stops here, a pause
                # included: a waiting run is answered later with `actorflow resume`.
                async for event in run.events(buffer=0, follow=False):
                    progress.update(event)
                    progress.log(format_event(event))
                await run.wait()
        finally:
            progress.close()
    json.dump({"run_id": run.id, "status": run.status.value, "state": run.state.data,
               "error": str(run.error) if run.error else None}, out, indent=2, default=str)
    out.write("\n")
    if run.status.value == "completed":
        return EXIT_OK
    return EXIT_CANCELLED if run.status.value == "cancelled" else EXIT_FAILED
