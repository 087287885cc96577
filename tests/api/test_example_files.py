"""The example request bodies in nodes/examples/ (used by the README's curl lines) work.

``graphs/NAME.json`` is a ``POST /api/v1/graph/create`` body; ``runs/NAME.json`` a
``POST /api/v1/graph/run`` body naming graph NAME (a file in graphs/, or one of the
workflows the server stores at start). Each pair is posted and run to its end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _api_support import serving

EXAMPLES = Path(__file__).parents[2] / "nodes" / "examples"
GRAPHS = EXAMPLES / "graphs"
RUNS = EXAMPLES / "runs"

#: What each example's final state holds (a subset), so a new example needs a line here.
EXPECTED: dict[str, dict[str, Any]] = {
    "seed_code_review": {"functions": [{"name": "hello"}]},
    "parallel_checks": {"lint": "ok", "types": "ok", "tests": "ok", "checks_run": 3,
                        "status": "all checks ran"},
    "count_to_three": {"count": 3, "finished": True},
    "publish_with_approval": {"approved": True, "published": True},
    "code_review": {"report": {"status": "ok"}},
    "summarization": {},
    "financial_analysis": {"recommendation": {"action": "hold", "coverage": 1.0}},
}

#: The answer given to an example that waits for a person.
ANSWERS = {"publish_with_approval": True}


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and expected and isinstance(expected[0], dict):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _subset(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def test_every_example_has_a_run_body_and_an_expectation() -> None:
    runs = {p.stem for p in RUNS.glob("*.json")}
    assert runs == set(EXPECTED)
    assert {p.stem for p in GRAPHS.glob("*.json")} <= runs
    for name in runs:
        body = _load(RUNS / f"{name}.json")
        assert set(body) <= {"graph_id", "initial_state", "timeout"}, name
        if (GRAPHS / f"{name}.json").exists():
            assert body["graph_id"] == _load(GRAPHS / f"{name}.json")["name"], name


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_example_creates_and_runs_to_the_state_it_shows(anyio_backend: str,
                                                              name: str) -> None:
    async with serving(anyio_backend) as client:
        if (GRAPHS / f"{name}.json").exists():
            created = await client.post("/api/v1/graph/create", json=_load(GRAPHS / f"{name}.json"))
            assert created.status_code == 201, await created.get_json()
        started = await client.post("/api/v1/graph/run", json=_load(RUNS / f"{name}.json"))
        assert started.status_code == 202, await started.get_json()
        run_id = (await started.get_json())["run_id"]
        state = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=60")).get_json()
        if name in ANSWERS:
            assert state["status"] == "waiting", state
            resumed = await client.post(f"/api/v1/runs/{run_id}/resume",
                                        json={"answer": ANSWERS[name]})
            assert resumed.status_code == 202, await resumed.get_json()
            state = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=60")).get_json()
    assert state["status"] == "completed", state
    data = state["current_state"]
    assert _subset(EXPECTED[name], data), data
    if name == "summarization":
        summary = data["summary"]
        assert 0 < len(summary) <= _load(RUNS / f"{name}.json")["initial_state"]["max_length"]
