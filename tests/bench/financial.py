"""``financial_analysis_ms``: the financial-analysis workflow for one symbol, offline.

One sample is one whole run of the example graph (fetch, the four analysts in
parallel, report, recommendation) through ``Runtime`` with its in-memory store.
Beside it, ``financial_analysts_sequential_ms``: the same four analyses (their
data requests and computations) run one after another in the same process,
without the graph. Offline the analysts only compute (no network wait), so
this shows the runtime's overhead rather than a parallel speed-up; with a live
provider the four requests overlap, which the second pair of figures shows:
``financial_analysis_latency_ms`` runs the workflow against the fake Finnhub of the
tests (real HTTP on loopback, the same AAPL data) answering each request after
:data:`LATENCY_S`, beside ``financial_analysts_latency_sequential_ms``, the four
analyses one after another against the same server. Each sample starts with an
empty provider cache. Nothing here asserts anything about time.

    python -m tests.bench.financial [asyncio|trio]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import anyio

__all__ = ["bench_financial", "financial_latency_samples", "financial_samples"]

INPUT = {"symbol": "AAPL", "as_of": "2016-06-30"}
#: Seconds the fake provider waits before each answer (a plausible API round trip).
LATENCY_S = 0.05


async def _sequential_analysts(p: Any = None) -> dict[str, Any]:
    """The four analyses one after another: what the graph's branches do, minus the graph."""
    from nodes.finance.fundamentals import analyze_fundamentals
    from nodes.finance.news import analyze_news
    from nodes.finance.offline import OfflineProvider
    from nodes.finance.sentiment import analyze_sentiment
    from nodes.finance.technical import analyze_technical

    p = p if p is not None else OfflineProvider()
    start, end, news_from = "2015-05-27", INPUT["as_of"], "2016-04-01"
    technical = analyze_technical(await p.daily("AAPL", start, end))
    fundamental = analyze_fundamentals(await p.fundamentals("AAPL", end), technical[
        "indicators"]["close"])
    sentiment = analyze_sentiment(await p.news("AAPL", news_from, end))
    news = analyze_news(await p.news("AAPL", news_from, end), await p.daily("AAPL", start, end))
    return {"technical": technical, "fundamental": fundamental, "sentiment": sentiment,
            "news": news}


async def financial_samples(repeats: int = 7) -> dict[str, Any]:
    """The samples, in ms, inside a running event loop (``python -m tests.bench`` uses this).

    Returns ``{"financial_analysis_ms": [...], "financial_analysts_sequential_ms": [...]}``.
    """
    from nodes.finance.current import use_market_provider
    from nodes.finance.offline import OfflineProvider
    from nodes.workflows import build_financial_analysis_graph
    from runtime import Runtime

    graph = build_financial_analysis_graph().compile()
    workflow: list[float] = []
    sequential: list[float] = []
    with use_market_provider(OfflineProvider()):
        async with Runtime() as rt:
            for i in range(repeats + 1):  # the first run warms imports, data and lexicon
                started = time.perf_counter()
                run = await rt.start(graph, INPUT)
                state = await run.result()
                elapsed = time.perf_counter() - started
                # Check the result, not the time: a broken workflow must not look fast.
                if state.errors or "recommendation" not in state.data:
                    raise RuntimeError(f"financial analysis went wrong: {state.errors}")
                if i:
                    workflow.append(elapsed)
        for i in range(repeats + 1):
            started = time.perf_counter()
            await _sequential_analysts()
            if i:
                sequential.append(time.perf_counter() - started)
    return {"financial_analysis_ms": [x * 1000 for x in workflow],
            "financial_analysts_sequential_ms": [x * 1000 for x in sequential]}


async def financial_latency_samples(repeats: int = 7,
                                    latency: float = LATENCY_S) -> dict[str, Any]:
    """The workflow and its analysts one after another against a slow fake Finnhub, in ms."""
    from nodes.finance.cache import CachedProvider
    from nodes.finance.current import use_market_provider
    from nodes.finance.finnhub import FinnhubProvider
    from nodes.workflows import build_financial_analysis_graph
    from runtime import Runtime
    from tests.nodes.finance.finance_fake_servers import FINNHUB_KEY, FakeFinnhub
    from tests.nodes.llm.llm_fake_servers import serving

    graph = build_financial_analysis_graph().compile()
    fake = FakeFinnhub()
    fake.latency = latency
    workflow: list[float] = []
    sequential: list[float] = []
    async with serving(fake) as url, Runtime() as rt:
        finnhub = FinnhubProvider(api_key=FINNHUB_KEY, base_url=url + "/api/v1", timeout=30)
        for i in range(repeats + 1):
            with use_market_provider(CachedProvider(finnhub)):  # a cold cache every time
                started = time.perf_counter()
                state = await (await rt.start(graph, INPUT)).result()
                elapsed = time.perf_counter() - started
            if state.errors or "recommendation" not in state.data:
                raise RuntimeError(f"financial analysis went wrong: {state.errors}")
            if i:
                workflow.append(elapsed)
        for i in range(repeats + 1):
            started = time.perf_counter()
            await _sequential_analysts(CachedProvider(finnhub))
            if i:
                sequential.append(time.perf_counter() - started)
        await finnhub.aclose()
    return {"financial_analysis_latency_ms": [x * 1000 for x in workflow],
            "financial_analysts_latency_sequential_ms": [x * 1000 for x in sequential]}


def bench_financial(repeats: int = 7, backend: str = "asyncio") -> dict[str, Any]:
    """Medians in ms: the workflow, and its four analysts one after another."""
    res = anyio.run(financial_samples, repeats, backend=backend)
    res |= anyio.run(financial_latency_samples, repeats, backend=backend)
    return {k: round(statistics.median(v), 2) for k, v in res.items()} | {"backend": backend}


if __name__ == "__main__":
    print(bench_financial(backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio"))
