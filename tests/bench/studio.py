"""The Studio's run view on a long run, in headless Chromium (issue 14).

- ``studio_render_ms``: from navigation to the run view of a finished run of 1,000
  node executions being fully drawn (graph coloured, timeline, event log, state): the
  page loads its modules, reads the run, replays ~3,000 events over the WebSocket feed
  (in batch frames) and draws them. Read from the page's own ``performance`` clock (the
  ``studio:run-drawn`` mark the run view sets), so the driver's polling is not counted.

One server and one browser per call; ``reps`` fresh pages, after one warm-up load.
Needs Debian's /usr/bin/chromium and Playwright (``make test`` installs both).
Run alone: ``python -m tests.bench.studio [asyncio|trio]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

__all__ = ["bench_studio"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from _browser import CHROMIUM
from bench_studio_graph import EXECUTIONS, LOOP
from _server import server

_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _long_run(base: str) -> str:
    graph = httpx.post(base + "/api/v1/graph/create", json=LOOP, timeout=30).json()
    run = httpx.post(base + "/api/v1/graph/run", timeout=30,
                     json={"graph_id": graph["graph_id"], "initial_state": {"count": 0}}).json()
    state = httpx.get(f"{base}/api/v1/runs/{run['run_id']}/wait?timeout=120", timeout=130).json()
    if state["status"] != "completed":
        raise RuntimeError(f"the bench run ended {state['status']}: {state.get('error')}")
    return str(run["run_id"])


def _drawn_ms(browser: Any, url: str) -> float:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(url)
        page.wait_for_selector('main[data-feed="complete"]', timeout=120_000)
        drawn = page.evaluate("performance.getEntriesByName('studio:run-drawn')[0].startTime")
        bars = page.locator(".timeline .bar").count()
        if bars != EXECUTIONS:
            raise RuntimeError(f"the timeline shows {bars} executions, not {EXECUTIONS}")
        return float(drawn)
    finally:
        page.close()


def bench_studio(*, backend: str = "asyncio", reps: int = 5) -> dict[str, Any]:
    """Start a server, make the long run, time ``reps`` loads of its run view."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise ImportError(f"{CHROMIUM} is missing (make test installs it)")
    with tempfile.TemporaryDirectory(prefix="actorflow-bench-") as tmp:
        path = Path(tmp)
        with server(backend, f"sqlite:///{path / 'bench.db'}", path,
                    log_level="warning") as srv:
            url = f"{srv.url}/#/runs/{_long_run(srv.url)}"
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS)
                try:
                    _drawn_ms(browser, url)   # warm-up: server caches, browser start
                    samples = [_drawn_ms(browser, url) for _ in range(reps)]
                finally:
                    browser.close()
    return {"studio_render_ms": statistics.median(samples),
            "studio_render_ms_samples": [round(x, 1) for x in samples],
            "studio_executions": EXECUTIONS}


if __name__ == "__main__":
    for b in sys.argv[1:] or ["asyncio"]:
        print(json.dumps(bench_studio(backend=b, reps=1)))
