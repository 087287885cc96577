"""Node caching: a hit skips the node and says so; entries expire; keys; JSON; two
processes on one database share entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cachegraph
import pytest

from runtime import (
    EventType,
    Graph,
    GraphValidationError,
    Runtime,
    WorkflowState,
)


def _runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


async def _run(rt: Runtime, g: Graph, data: dict[str, Any]) -> tuple[WorkflowState, list[Any]]:
    run = await rt.start(g.compile(), data)
    final = await run.result()
    return final, [e async for e in rt.events(run.id)]


async def test_a_hit_skips_the_node_and_its_events_say_so(store_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Runtime(store_url) as rt:
        first, events1 = await _run(rt, cachegraph.graph(), {"q": "hi", "log": str(log)})
        second, events2 = await _run(rt, cachegraph.graph(), {"q": "hi", "log": str(log)})
        assert _runs(log) == 1
        assert first.data == second.data == {"q": "hi", "log": str(log), "answer": "HI"}
        done1 = next(e for e in events1 if e.type is EventType.NODE_COMPLETED)
        done2 = next(e for e in events2 if e.type is EventType.NODE_COMPLETED)
        assert "cached" not in done1.data and done2.data["cached"] is True
        assert done2.data["update"] == {"answer": "HI"}
        # Another input is another entry.
        await _run(rt, cachegraph.graph(), {"q": "other", "log": str(log)})
        assert _runs(log) == 2
        assert (rt.node_cache.hits, rt.node_cache.misses) == (1, 2)


async def test_an_entry_expires_after_its_ttl(tmp_path: Path) -> None:
    log = tmp_path / "log"
    now = [1000.0]
    async with Runtime() as rt:
        rt.node_cache.clock = lambda: now[0]
        data = {"q": "hi", "log": str(log)}
        await _run(rt, cachegraph.graph(ttl=10), data)
        now[0] += 9
        await _run(rt, cachegraph.graph(ttl=10), data)
        assert _runs(log) == 1
        now[0] += 2      # 11 s after it was written
        await _run(rt, cachegraph.graph(ttl=10), data)
        assert _runs(log) == 2


async def test_an_expired_entry_in_the_store_is_not_served(tmp_path: Path) -> None:
    log = tmp_path / "log"
    url = f"sqlite:///{tmp_path / 'db'}"
    now = [1000.0]
    async with Runtime(url) as rt:
        rt.node_cache.clock = lambda: now[0]
        await _run(rt, cachegraph.graph(ttl=10), {"q": "hi", "log": str(log)})
    async with Runtime(url) as rt:   # a fresh process-level memory: only the store
        rt.node_cache.clock = lambda: now[0] + 11
        await _run(rt, cachegraph.graph(ttl=10), {"q": "hi", "log": str(log)})
        assert (rt.node_cache.hits, rt.node_cache.misses) == (0, 1)
    assert _runs(log) == 2


async def test_a_key_function_decides_what_counts_as_the_same_input(tmp_path: Path) -> None:
    log = tmp_path / "log"
    g = cachegraph.graph(key=cachegraph.by_question)
    async with Runtime() as rt:
        await _run(rt, g, {"q": "hi", "log": str(log), "noise": 1})
        final, _ = await _run(rt, g, {"q": "hi", "log": str(log), "noise": 2})
    assert _runs(log) == 1 and final.data["answer"] == "HI"


async def test_a_node_whose_code_changed_misses_what_the_old_code_cached(
        store_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    async with Runtime(store_url) as rt:
        old, _ = await _run(rt, cachegraph.graph(), {"q": "HI", "log": str(log)})
        # Same graph, node, config and input; the node's code is not the same.
        new, _ = await _run(rt, cachegraph.graph(fn=cachegraph.expensive_v2),
                            {"q": "HI", "log": str(log)})
        again, _ = await _run(rt, cachegraph.graph(fn=cachegraph.expensive_v2),
                              {"q": "HI", "log": str(log)})
    assert (old.data["answer"], new.data["answer"], again.data["answer"]) == ("HI", "hi", "hi")
    assert _runs(log) == 2   # the new code ran once, then its own entry was served


def test_the_code_fingerprint_is_the_same_in_every_process() -> None:
    # A set constant iterates in hash order, which differs between processes.
    script = ("import cachegraph; from runtime.node_cache import code_fingerprint; "
              "print(code_fingerprint(cachegraph.expensive_v2))")
    here = Path(cachegraph.__file__).parent
    prints = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, cwd=here, env={**os.environ, "PYTHONHASHSEED": seed,
                                                        "PYTHONPATH": f"{here.parents[1]}"},
                             ).stdout.strip() for seed in ("1", "2", "3")}
    assert len(prints) == 1 and len(next(iter(prints))) == 16


async def test_caching_works_in_a_json_definition(tmp_path: Path) -> None:
    log = tmp_path / "log"
    d = cachegraph.graph(ttl=30, key=cachegraph.by_question).to_json()
    assert d["nodes"][0]["cache"] == {"ttl": 30.0, "key": "cachegraph:by_question"}
    with pytest.raises(GraphValidationError, match="cache key .*untrusted JSON is refused"):
        Graph.from_json(d)
    g = Graph.from_json(d, trusted=True)
    async with Runtime() as rt:
        await _run(rt, g, {"q": "hi", "log": str(log), "noise": 1})
        await _run(rt, g, {"q": "hi", "log": str(log), "noise": 2})
    assert _runs(log) == 1


def test_a_cache_key_that_does_not_import_is_refused_at_compile_time() -> None:
    d = cachegraph.graph().to_json()
    d["nodes"][0]["cache"] = {"ttl": 5, "key": "cachegraph:nope"}
    with pytest.raises(GraphValidationError, match="cache key"):
        Graph.from_json(d, trusted=True).compile()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_two_processes_on_one_database_share_entries(backend: str, tmp_path: Path,
                                                     durable_url: str) -> None:
    log = tmp_path / "log"
    script = Path(cachegraph.__file__)

    def child() -> dict[str, Any]:
        out = subprocess.run([sys.executable, str(script), durable_url, str(log), backend],
                             capture_output=True, text=True, timeout=120, check=False,
                             cwd=script.parents[2])
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    first, second = child(), child()
    assert (first["hits"], first["misses"]) == (0, 1)
    assert (second["hits"], second["misses"]) == (1, 0)
    assert first["answer"] == second["answer"] == "SHARED"
    assert _runs(log) == 1
