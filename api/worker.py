"""``actorflow worker``: a process that only executes runs (no HTTP).

It claims queued runs and runs whose lease expired from the shared database while it
has capacity (``--concurrency``), until SIGTERM or SIGINT; then it stops claiming and
hands its runs back at once (another process resumes each from its last checkpoint).
"""

from __future__ import annotations

import logging
import signal

import anyio

from runtime import Runtime
from runtime.lease import ClusterSettings

from .settings import Settings, SettingsError
from .single_host import executor_lock
from .telemetry import traced

__all__ = ["work"]

log = logging.getLogger("actorflow.worker")


def work(settings: Settings) -> int:
    """Execute runs until a signal; the exit code."""
    if settings.database_url.startswith("memory"):
        raise SettingsError("a worker executes the runs of a shared database, and a memory "
                            "store lives in one process: give --database-url postgresql://... "
                            "(or sqlite:///file.db on one host)")
    cluster = settings.cluster_settings()
    with (executor_lock(settings.database_url, clustered=cluster is not None),
          traced(settings.otlp_endpoint)):
        anyio.run(_work, settings, cluster, backend=settings.backend)
    return 0


async def _work(settings: Settings, cluster: ClusterSettings | None) -> None:
    import nodes  # noqa: F401 - registers the built-in tools

    async with Runtime(settings.open_store(), cluster=cluster,
                       keep_finished=settings.keep_finished_runs,
                       orphan_check=settings.orphan_check()) as rt:
        from nodes.finance.current import use_store_cache as use_market_cache
        from nodes.llm_node import use_store_cache

        use_store_cache(rt.store)
        use_market_cache(rt.store)
        log.info("actorflow worker %s executing runs (concurrency %s, backend %s)",
                 rt.instance_id, cluster.concurrency if cluster else "unlimited",
                 settings.backend)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("received %s: handing runs back", signal.Signals(signum).name)
                break
        await rt.shutdown()
    log.info("actorflow worker stopped")
