"""Run routes: the seed's run and state, list, detail with logs, cancel, wait, history."""

from __future__ import annotations

from typing import Any

from _api_support import SEED_CREATE, chain_graph, serving
from quart.typing import TestClientProtocol as Client


async def _create(client: Client, graph: dict[str, Any]) -> str:
    response = await client.post("/api/v1/graph/create", json=graph)
    assert response.status_code == 201, await response.get_data()
    return str((await response.get_json())["graph_id"])


async def _start(client: Client, graph_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/graph/run", json={"graph_id": graph_id, **body})
    assert response.status_code == 202, await response.get_data()
    return dict(await response.get_json())


async def _wait(client: Client, run_id: str, timeout: float = 10) -> dict[str, Any]:
    response = await client.get(f"/api/v1/runs/{run_id}/wait?timeout={timeout}")
    assert response.status_code == 200
    return dict(await response.get_json())


async def test_run_answers_202_with_the_seed_fields(anyio_backend: str) -> None:
    initial = {"code": "def hello():\n    pass", "use_llm": False}
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        body = await _start(client, graph_id, initial_state=initial, timeout=300)
        assert set(body) == {"run_id", "graph_id", "status", "started_at", "initial_state"}
        assert body["status"] == "pending"
        assert body["graph_id"] == graph_id
        assert body["initial_state"] == initial


async def test_state_shows_the_final_data_once_completed(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        run = await _start(client, graph_id, initial_state={"code": "x"})
        assert (await _wait(client, run["run_id"]))["status"] == "completed"
        response = await client.get(f"/api/v1/graph/state/{run['run_id']}")
        assert response.status_code == 200
        body = await response.get_json()
        assert body["status"] == "completed"
        assert body["current_state"] == {"code": "x", "functions": ["hello"],
                                         "quality_score": 85, "suggestions": ["Add docstring"]}
        assert body["last_updated"] and body["error"] is None


async def test_run_of_unknown_graph_is_404(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.post("/api/v1/graph/run", json={"graph_id": "nope"})
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "graph_not_found"


async def test_run_with_a_non_object_initial_state_is_400(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        response = await client.post("/api/v1/graph/run",
                                     json={"graph_id": graph_id, "initial_state": [1, 2]})
        assert response.status_code == 400
        error = (await response.get_json())["error"]
        assert error["details"][0]["path"] == "initial_state"


async def test_run_with_a_non_positive_timeout_is_400(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        response = await client.post("/api/v1/graph/run", json={"graph_id": graph_id, "timeout": 0})
        assert response.status_code == 400
        assert (await response.get_json())["error"]["details"][0]["path"] == "timeout"


async def test_a_run_exceeding_its_timeout_fails_with_a_clear_error(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, chain_graph("slow", delay=5))
        run = await _start(client, graph_id, timeout=0.05)
        body = await _wait(client, run["run_id"])
        assert body["status"] == "failed"
        assert body["error_type"] == "RunTimeoutError"
        assert "timeout" in body["error"]


async def test_a_failing_node_fails_the_run_with_its_error(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, chain_graph("failing", fail=True))
        body = await _wait(client, (await _start(client, graph_id))["run_id"])
        assert body["status"] == "failed"
        assert "boom" in body["error"]


async def test_unknown_run_state_is_404(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        response = await client.get("/api/v1/graph/state/nope")
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "run_not_found"


async def test_runs_are_listed_and_filtered_by_status_and_graph(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        ok = await _create(client, chain_graph("ok"))
        bad = await _create(client, chain_graph("bad", fail=True))
        for graph_id in (ok, ok, bad):
            await _wait(client, (await _start(client, graph_id))["run_id"])
        failed = await (await client.get("/api/v1/runs?status=failed")).get_json()
        assert [r["graph_id"] for r in failed["items"]] == [bad]
        by_graph = await (await client.get(f"/api/v1/runs?graph_id={ok}&limit=1")).get_json()
        assert len(by_graph["items"]) == 1 and by_graph["next_offset"] == 1
        bad_query = await client.get("/api/v1/runs?status=exploded")
        assert bad_query.status_code == 400


async def test_run_detail_has_the_execution_logs_a_page_at_a_time(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        run_id = (await _start(client, graph_id))["run_id"]
        await _wait(client, run_id)
        body = await (await client.get(f"/api/v1/runs/{run_id}?logs_limit=4")).get_json()
        assert body["status"] == "completed"
        assert [(row["node_name"], row["status"]) for row in body["logs"]] == [
            ("extract", "started"), ("extract", "completed"),
            ("analyze", "started"), ("analyze", "completed")]
        assert body["logs_next_offset"] == 4
        rest = await (await client.get(f"/api/v1/runs/{run_id}?logs_offset=4")).get_json()
        assert [row["node_name"] for row in rest["logs"]] == ["report", "report"]


async def test_cancel_stops_a_running_run_and_a_finished_one_is_409(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, chain_graph("long", delay=30))
        run_id = (await _start(client, graph_id))["run_id"]
        response = await client.post(f"/api/v1/runs/{run_id}/cancel")
        assert response.status_code == 202
        assert (await _wait(client, run_id))["status"] == "cancelled"
        again = await client.post(f"/api/v1/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert (await again.get_json())["error"]["code"] == "run_finished"


async def test_wait_answers_at_its_timeout_while_the_run_goes_on(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, chain_graph("waits", delay=30))
        run_id = (await _start(client, graph_id))["run_id"]
        body = await _wait(client, run_id, timeout=0.05)
        assert body["status"] == "running"
        await client.post(f"/api/v1/runs/{run_id}/cancel")


async def test_history_lists_a_checkpoint_per_step(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        graph_id = await _create(client, SEED_CREATE)
        run_id = (await _start(client, graph_id))["run_id"]
        await _wait(client, run_id)
        body = await (await client.get(f"/api/v1/runs/{run_id}/history")).get_json()
        assert [c["nodes"] for c in body["checkpoints"]] == [[], ["extract"], ["analyze"],
                                                             ["report"]]
        assert body["checkpoints"][0]["step"] == 0   # the input, before any node
        assert body["checkpoints"][-1]["state"]["quality_score"] == 85


async def test_a_draining_server_refuses_new_runs_with_503(anyio_backend: str) -> None:
    from _api_support import make_settings
    from quart import Quart

    from api import create_app
    from api.current import SERVICE_KEY
    from runtime import MemoryStore

    app: Quart = create_app(make_settings(anyio_backend), store=MemoryStore())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        graph_id = await _create(client, SEED_CREATE)
        await app.extensions[SERVICE_KEY].drain()
        response = await client.post("/api/v1/graph/run", json={"graph_id": graph_id})
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert (await response.get_json())["error"]["code"] == "shutting_down"
        assert (await client.get("/health")).status_code == 503
