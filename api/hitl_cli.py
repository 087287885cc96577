"""``actorflow resume`` and ``actorflow history``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runtime import ActorflowError, Runtime, RunWaiting
from runtime.store import open_store

from .cli_signals import cancel_on_signal
from .settings import Settings

__all__ = ["history", "resume"]


def _answer(raw: str) -> Any:
    return json.loads(Path(raw[1:]).read_text() if raw.startswith("@") else raw)


async def resume(args: argparse.Namespace, settings: Settings) -> int:
    """Answer a waiting run; print its log until it finishes or waits again.

    Exit codes: 0 completed, 3 waiting again, 1 failed or refused, 2 bad arguments.
    """
    try:
        answer = _answer(args.answer)
    except (OSError, ValueError) as exc:
        print(f"actorflow resume: --answer is not JSON: {exc}", file=sys.stderr)
        return 2
    if args.server:
        return await _resume_remote(args, answer)
    import nodes  # noqa: F401  (registers the built-in workflow tools)

    # recover=False: this process resumes one run; it must not claim the others.
    async with Runtime(settings.database_url, recover=False) as rt:
        try:
            run = await rt.resume(args.run_id, answer, interrupt_id=args.interrupt_id)
        except ActorflowError as exc:
            print(f"actorflow resume: {exc}", file=sys.stderr)
            return 1
        async with cancel_on_signal(run):
            async for event in run.events(follow=False):  # until it ends or waits again
                print(f"{event.seq:>5} {event.type.value:<15} {event.node or ''}",
                      file=sys.stderr)
            await run.wait()
        try:
            final = await run.result()
        except RunWaiting as exc:
            print(json.dumps({"status": "waiting", "interrupts": exc.interrupts}, indent=2,
                             default=str))
            return 3
        except ActorflowError as exc:
            print(f"actorflow resume: the run failed: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(final.data, indent=2, default=str))
        return 0


async def _resume_remote(args: argparse.Namespace, answer: Any) -> int:
    import httpx

    url = f"{args.server.rstrip('/')}/api/v1/runs/{args.run_id}/resume"
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            resp = await client.post(url, json={"answer": answer,
                                                "interrupt_id": args.interrupt_id})
        except httpx.HTTPError as exc:
            print(f"actorflow resume: cannot reach {args.server}: {exc}", file=sys.stderr)
            return 1
    body = resp.json()
    if resp.status_code != 202:
        print(f"actorflow resume: {resp.status_code}: {body['error']['message']}",
              file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2))
    return 0


async def history(args: argparse.Namespace, settings: Settings) -> int:
    """Print a run's checkpoints (step, nodes, keys written), or the state at one."""
    store = open_store(settings.database_url)
    await store.open()
    try:
        if await store.get_run(args.run_id) is None:
            print(f"actorflow history: no run {args.run_id}", file=sys.stderr)
            return 1
        if args.step is not None:
            cp = await store.get_checkpoint(args.run_id, args.step)
            if cp is None:
                print(f"actorflow history: run {args.run_id} has no step {args.step}",
                      file=sys.stderr)
                return 1
            print(json.dumps(cp.state, indent=2, default=str))
            return 0
        checkpoints = await store.list_checkpoints(args.run_id)
    finally:
        await store.close()
    if args.json:
        rows = [{"step": c.step, "nodes": c.nodes, "changed": sorted(c.changed),
                 "created_at": c.created_at} for c in checkpoints]
        print(json.dumps(rows, indent=2, default=str))
    else:
        for c in checkpoints:
            print(f"{c.step:>5}  {','.join(c.nodes):<30} {', '.join(sorted(c.changed))}")
    return 0
