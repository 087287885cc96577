"""``code_review_ms``: the code-review workflow on a 2,000-line standard-library module.

The issue's check: "a 2,000-line real module reviews in well under a second
offline". One sample is one whole run of the example graph (extract, map over
every function, joins, suggestions, score, report) through ``Runtime`` with its
default in-memory store; the figure is the median. Beside it, the same review
without the graph (:func:`nodes.analysis.review_code`) in the same process, so
the runtime's share is visible. Nothing here asserts anything about time.

    python -m tests.bench.code_review [asyncio|trio]
"""

from __future__ import annotations

import statistics
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import anyio

__all__ = ["bench_code_review", "code_review_samples"]

MODULE = "difflib.py"


def _source() -> str:
    code = (Path(sysconfig.get_paths()["stdlib"]) / MODULE).read_text(encoding="utf-8")
    if len(code.splitlines()) < 2000:  # pragma: no cover - CPython's difflib is ~2,050 lines
        raise RuntimeError(f"{MODULE} has fewer than 2,000 lines on this Python")
    return code


async def _samples(code: str, repeats: int) -> tuple[list[float], dict[str, Any]]:
    from nodes.workflows import build_code_review_graph
    from runtime import Runtime

    graph = build_code_review_graph().compile()
    samples: list[float] = []
    report: dict[str, Any] = {}
    async with Runtime() as rt:
        for i in range(repeats + 1):  # the first run warms imports and caches
            start = time.perf_counter()
            run = await rt.start(graph, {"code": code})
            state = await run.result()
            elapsed = time.perf_counter() - start
            report = state.data["report"]
            # Check the result, not the time: a broken workflow must not look fast.
            if report["status"] != "ok" or len(report["functions"]) < 40:
                raise RuntimeError(f"code review of {MODULE} went wrong: {report}")
            if i:
                samples.append(elapsed)
    return samples, report


async def code_review_samples(repeats: int = 7) -> dict[str, Any]:
    """The samples, in ms, inside a running event loop (``python -m tests.bench`` uses this).

    Returns ``{"code_review_ms": [...], "code_review_direct_ms": [...],
    "code_review_lines", "code_review_functions"}``; the direct review runs after the
    graph's samples, in the same process.
    """
    from nodes.analysis import review_code

    code = _source()
    samples, report = await _samples(code, repeats)
    direct = []
    for _ in range(repeats):
        start = time.perf_counter()
        review_code(code)
        direct.append(time.perf_counter() - start)
    return {
        "code_review_ms": [x * 1000 for x in samples],
        "code_review_direct_ms": [x * 1000 for x in direct],
        "code_review_lines": len(code.splitlines()),
        "code_review_functions": len(report["functions"]),
    }


def bench_code_review(repeats: int = 7, backend: str = "asyncio") -> dict[str, Any]:
    """Median ms of the code-review workflow on ``difflib.py`` (2,000+ lines), offline.

    Returns ``{"code_review_ms", "code_review_direct_ms", "code_review_lines",
    "code_review_functions", "backend"}``.
    """
    res = anyio.run(code_review_samples, repeats, backend=backend)
    return {
        "code_review_ms": round(statistics.median(res["code_review_ms"]), 2),
        "code_review_direct_ms": round(statistics.median(res["code_review_direct_ms"]), 2),
        "code_review_lines": res["code_review_lines"],
        "code_review_functions": res["code_review_functions"],
        "backend": backend,
    }


if __name__ == "__main__":
    print(bench_code_review(backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio"))
