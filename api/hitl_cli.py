"""``actorflow resume`` and ``actorflow history``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runtime import ActorflowError, RunNotFoundError, Runtime
from runtime.store import open_store
from runtime.history import history as run_history
from runtime.history import input_checkpoint

from .cli_report import ExitCode, Progress, follow, outcome, redact, report
from .cli_signals import cancel_on_signal
from .settings import Settings, own_runs_only

__all__ = ["history", "parse_answer", "resume"]

#: Seconds of one long-poll while a run resumed through a server goes on.
REMOTE_WAIT_SECONDS = 60.0


def parse_answer(raw: str) -> Any:
    """``--answer``: JSON when it parses (``42``, ``true``, ``{"ok": 1}``), else the
    text itself (``no``); ``@file`` reads the answer from a file by the same rule.

    Raises OSError for an ``@file`` that cannot be read.
    """
    text = Path(raw[1:]).read_text().strip() if raw.startswith("@") else raw
    try:
        return json.loads(text)
    except ValueError:
        return text


async def resume(args: argparse.Namespace, settings: Settings) -> int:
    """Answer a waiting run; print its log until it finishes or waits again, then its
    outcome, as ``actorflow run`` does (same format, same exit codes)."""
    try:
        answer = parse_answer(args.answer)
    except OSError as exc:
        print(f"actorflow resume: cannot read --answer: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.server:
        return await _resume_remote(args, answer)
    import nodes  # noqa: F401  (registers the built-in workflow tools)

    # recover=False: this process resumes one run; it must not claim the others.
    async with Runtime(settings.database_url, recover=False,
                       cluster=own_runs_only(settings.cluster_settings())) as rt:
        # The log printed starts where the paused run's stopped: nothing printed twice.
        before = await rt.store.read_events(args.run_id)
        since = before[-1].seq + 1 if before else 0
        try:
            run = await rt.resume(args.run_id, answer, interrupt_id=args.interrupt_id)
        except RunNotFoundError as exc:
            # A wrong run id is a bad argument, as `run`'s wrong graph is: nothing ran.
            print(f"actorflow resume: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        except ActorflowError as exc:
            print(f"actorflow resume: {exc}", file=sys.stderr)
            return ExitCode.FAILED
        progress = Progress(sys.stderr)
        progress.log(f"run {run.id} of graph {run.graph.name!r} in "
                     f"{redact(settings.database_url)}: answered")
        async with cancel_on_signal(run):
            await follow(run, progress, since)
        return report(outcome(run), sys.stdout, sys.stderr)


async def _resume_remote(args: argparse.Namespace, answer: Any) -> int:
    """Resume through a server's API, wait until the run stops, print its outcome."""
    import httpx

    base = f"{args.server.rstrip('/')}/api/v1/runs/{args.run_id}"
    async with httpx.AsyncClient(timeout=REMOTE_WAIT_SECONDS + 30) as client:
        try:
            resp = await client.post(f"{base}/resume", json={
                "answer": answer, "interrupt_id": args.interrupt_id})
            if resp.status_code != 202:
                print(f"actorflow resume: {resp.status_code}: "
                      f"{resp.json()['error']['message']}", file=sys.stderr)
                return ExitCode.USAGE if resp.status_code == 404 else ExitCode.FAILED
            print(f"run {args.run_id} resumed on {args.server}", file=sys.stderr)
            state = await _wait_remote(client, base)
            waiting = []
            if state["status"] == "waiting":
                waiting = (await client.get(f"{base}/interrupts")).json()["interrupts"]
        except httpx.HTTPError as exc:
            print(f"actorflow resume: cannot reach {args.server}: {exc}", file=sys.stderr)
            return ExitCode.FAILED
    doc = {"run_id": args.run_id, "status": state["status"],
           "state": state["current_state"], "error": state.get("error"),
           "interrupts": waiting}
    return report(doc, sys.stdout, sys.stderr)


async def _wait_remote(client: Any, base: str) -> dict[str, Any]:
    while True:
        resp = await client.get(f"{base}/wait", params={"timeout": REMOTE_WAIT_SECONDS})
        resp.raise_for_status()
        state: dict[str, Any] = resp.json()
        if state["status"] not in ("pending", "running"):
            return state


async def history(args: argparse.Namespace, settings: Settings) -> int:
    """Print a run's checkpoints (step, nodes, keys written), or the state at one."""
    store = open_store(settings.database_url)
    await store.open()
    try:
        record = await store.get_run(args.run_id)
        if record is None:
            print(f"actorflow history: no run {args.run_id}", file=sys.stderr)
            return 1
        if args.step is not None:
            cp = await store.get_checkpoint(args.run_id, args.step)
            if cp is None and args.step == 0:
                cp = input_checkpoint(record)   # before its first step a run is its input
            if cp is None:
                print(f"actorflow history: run {args.run_id} has no step {args.step}",
                      file=sys.stderr)
                return 1
            print(json.dumps(cp.state, indent=2, default=str))
            return 0
        # A page at a time: only the keys are printed, and a long run's states
        # would not all fit in memory at once.
        rows: list[dict[str, Any]] = []
        after = -1
        while page := await run_history(store, args.run_id, after=after, limit=_PAGE):
            for c in page:
                row = {"step": c.step, "nodes": c.nodes, "changed": sorted(c.changed),
                       "created_at": c.created_at}
                if args.json:
                    rows.append(row)
                else:
                    nodes = ",".join(c.nodes) or ("(input)" if c.step == 0 else "(answer)")
                    print(f"{c.step:>5}  {nodes:<30} {', '.join(sorted(c.changed))}")
            after = page[-1].step
    finally:
        await store.close()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    return 0


#: Checkpoints ``actorflow history`` reads at once.
_PAGE = 50
