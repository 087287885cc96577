"""``actorflow run``: run a graph in this process, print its live log and its outcome.

The run is stored in the database the settings name (``--database-url``,
``ACTORFLOW_DATABASE_URL``, default ``sqlite:///actorflow.db``), a graph file's run
as much as a stored graph's, so ``actorflow history`` and ``actorflow resume`` find it
later. What is printed where, and the exit codes: :mod:`api.cli_report`; Ctrl-C or
SIGTERM cancels the run (:mod:`api.cli_signals`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from runtime import Graph, Run, Runtime
from runtime.lease import ClusterSettings
from runtime.store import open_store

from .cli_report import ExitCode, Progress, follow, outcome, redact, report
from .cli_signals import cancel_on_signal

__all__ = ["run_graph"]


async def run_graph(graph_ref: str, input_data: dict[str, Any], *, database_url: str,
                    timeout: float | None = None, out: TextIO | None = None,
                    err: TextIO | None = None,
                    cluster: ClusterSettings | None = None) -> ExitCode:
    """Run ``graph_ref`` (a JSON file, or a stored graph's id or name) and print it.

    ``cluster``: the database is a cluster's (see ``api.settings.own_runs_only``): the
    run executes here under a lease, so the cluster's servers leave it alone while this
    process lives and take it over if it dies.

    Returns the process exit code.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    import nodes

    # recover=False: this process runs one graph; it must never claim the runs a
    # server (or another process) is executing on the same database. The example
    # workflows are known by name ("code_review", "summarization") even in a new file.
    async with Runtime(open_store(database_url), recover=False, cluster=cluster,
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
            # A graph file on the user's own machine is as trusted as their code.
            target = Graph.from_json(json.loads(path.read_text()), trusted=True).compile()
        run: Run = await rt.start(target, input_data, timeout=timeout)
        progress = Progress(err)
        where = "" if rt.store.durable else " (in memory: not kept)"
        progress.log(f"run {run.id} of graph {run.graph.name!r} in {redact(database_url)}{where}")
        async with cancel_on_signal(run, err):
            await follow(run, progress)
        return report(outcome(run), out, err)
