"""What ``actorflow run`` and ``actorflow resume`` print, and their exit codes.

Both commands print the same things, in the same places:

- stderr: the run's log, one line per event as it happens (``node_started``,
  ``node_completed``...), on a terminal or not; on a terminal a progress line
  (steps done, nodes running, elapsed time) stays under the log. When the run waits
  for an answer, the question it asks and the command that answers it.
- stdout: one JSON document, :func:`outcome` (``run_id``, ``status``, ``state``,
  ``error``, ``interrupts``), so ``actorflow run g.json > out.json`` keeps the result.

The exit code says how the run stopped (:class:`ExitCode`).
"""

from __future__ import annotations

import json
import time
from enum import IntEnum
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from runtime import Event, EventType, Run

__all__ = ["EXIT_CODES_HELP", "ExitCode", "Progress", "follow", "format_event", "outcome",
           "redact", "report"]


class ExitCode(IntEnum):
    """How ``run`` and ``resume`` ended. WAITING is not a failure: answer and go on."""

    COMPLETED = 0
    FAILED = 1  # the run failed, or the command could not do its work
    USAGE = 2  # bad arguments or input; nothing was run
    WAITING = 3  # the run waits for an answer: `actorflow resume RUN_ID --answer ...`
    # Ctrl-C or SIGTERM cancels the run (api.cli_signals): the shell's 128 + SIGINT.
    CANCELLED = 130


EXIT_CODES_HELP = """exit codes (run, resume):
  0    the run completed
  1    the run failed (or the command could not run it)
  2    bad arguments or input: nothing was run
  3    the run waits for an answer (the question is on stderr); answer it with
       `actorflow resume RUN_ID --answer ANSWER`
  130  the run was cancelled (Ctrl-C or SIGTERM cancel it)"""


def redact(url: str) -> str:
    """``url`` without its password, to name a database in a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


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
        keys = {**(data.get("update") or {}), **(data.get("append") or {})}
        extra = f": {', '.join(sorted(keys))}"
    return f"{clock} #{event.seq:<4} {event.type.value}{node}{extra}"


class Progress:
    """The log on ``out``; on a terminal, a one-line progress display redrawn under it."""

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
        self.out.flush()  # a line as it happens, also when stderr is a pipe
        self.draw()

    def event(self, event: Event) -> None:
        if event.type is EventType.NODE_STARTED and event.node:
            self.running.add(event.node)
        elif event.type in (EventType.NODE_COMPLETED, EventType.NODE_FAILED) and event.node:
            self.running.discard(event.node)
            self.steps += event.type is EventType.NODE_COMPLETED
        self.log(format_event(event))

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


async def follow(run: Run, progress: Progress, since: int = 0) -> None:
    """Print the run's events from ``since`` as they happen, until the run stops here
    (finished, or paused: nothing in this process would answer it)."""
    try:
        # Unbounded (printing never lags); follow=False: the stream ends when this
        # handle stops executing, a pause included.
        async for event in run.events(since, buffer=0, follow=False):
            progress.event(event)
        await run.wait()
    finally:
        progress.close()


def outcome(run: Run) -> dict[str, Any]:
    """The JSON document both commands print on stdout."""
    waiting = run.status.value == "waiting"
    return {"run_id": run.id, "status": run.status.value,
            "state": run.state.data,
            "error": str(run.error) if run.error is not None and not waiting else None,
            "interrupts": run.interrupts if waiting else []}


def report(doc: dict[str, Any], out: TextIO, err: TextIO) -> ExitCode:
    """Print ``doc`` (see :func:`outcome`) and, for a waiting run, its questions."""
    json.dump(doc, out, indent=2, default=str)
    out.write("\n")
    out.flush()
    status = doc["status"]
    if status == "waiting":
        _ask(doc["run_id"], doc["interrupts"], err)
        return ExitCode.WAITING
    if status == "completed":
        return ExitCode.COMPLETED
    if status == "cancelled":
        return ExitCode.CANCELLED
    err.write(f"run {doc['run_id']} {status}: {doc.get('error')}\n")
    return ExitCode.FAILED


def _ask(run_id: str, interrupts: list[dict[str, Any]], err: TextIO) -> None:
    err.write(f"run {run_id} is waiting for an answer:\n")
    for item in interrupts:
        payload = item.get("payload")
        question = payload.get("question") if isinstance(payload, dict) else None
        shown = question if isinstance(question, str) else json.dumps(payload, default=str)
        err.write(f"  {item.get('node')}: {shown}  (interrupt {item.get('id')})\n")
        if isinstance(payload, dict) and payload.get("data") is not None:
            err.write(f"    data: {json.dumps(payload['data'], default=str)}\n")
    which = " --interrupt-id ID" if len(interrupts) > 1 else ""
    err.write(f"answer it: actorflow resume {run_id} --answer ANSWER{which}"
              " (JSON when it parses, else the text)\n")
    err.flush()
