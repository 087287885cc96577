"""Human in the loop and time travel over HTTP: interrupts, resume, state, fork, replay."""

from __future__ import annotations

from typing import Any

from _api_support import serving, start_waiting_run

APPROVAL: dict[str, Any] = {
    "name": "approval",
    "nodes": [
        {"name": "draft", "tool": "set", "config": {"values": {"draft": "v1"}}},
        {"name": "approve", "tool": "ask",
         "config": {"question": "apply the draft?", "key": "approved", "show": ["draft"]}},
        {"name": "done", "tool": "set", "config": {"values": {"done": True}}},
    ],
    "edges": [{"from": "draft", "to": "approve"}, {"from": "approve", "to": "done"}],
}


async def _start_waiting(client: Any) -> str:
    return await start_waiting_run(client, APPROVAL)


async def test_a_waiting_run_lists_what_it_waits_for(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        body = await (await client.get(f"/api/v1/runs/{run_id}/interrupts")).get_json()
    assert body["status"] == "waiting"
    [interrupt] = body["interrupts"]
    assert interrupt["node"] == "approve" and interrupt["kind"] == "ask"
    assert interrupt["payload"] == {"question": "apply the draft?", "data": {"draft": "v1"}}
    assert interrupt["answer_schema"] is None  # the built-in ask tool takes any JSON answer


async def test_resume_answers_the_run_and_it_completes_with_the_answer(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        resp = await client.post(f"/api/v1/runs/{run_id}/resume", json={"answer": "yes"})
        assert resp.status_code == 202
        assert (await resp.get_json())["status"] == "running"
        state = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert state["status"] == "completed"
    assert state["current_state"] == {"draft": "v1", "approved": "yes", "done": True}


async def test_resume_with_a_wrong_interrupt_id_is_a_409_naming_the_waiting_one(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        resp = await client.post(f"/api/v1/runs/{run_id}/resume",
                                 json={"answer": 1, "interrupt_id": "nope"})
        body = await resp.get_json()
    assert resp.status_code == 409
    assert body["error"]["code"] == "not_resumable"
    assert "approve:" in body["error"]["message"]


async def test_a_second_resume_is_refused(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        run_id = await _start_waiting(client)
        first = await client.post(f"/api/v1/runs/{run_id}/resume", json={"answer": "yes"})
        assert first.status_code == 202
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        second = await client.post(f"/api/v1/runs/{run_id}/resume", json={"answer": "again"})
        body = await second.get_json()
    assert second.status_code == 409
    assert "not waiting" in body["error"]["message"]


async def test_resume_of_an_unknown_run_is_a_404(anyio_backend: str) -> None:
    async with serving(anyio_backend) as client:
        resp = await client.post("/api/v1/runs/nope/resume", json={"answer": 1})
    assert resp.status_code == 404


async def test_history_state_at_a_step_and_fork_over_http(anyio_backend: str, tmp_path: Any) -> None:
    from runtime.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'api.db'}")
    async with serving(anyio_backend, store=store) as client:
        run_id = await _start_waiting(client)
        await client.post(f"/api/v1/runs/{run_id}/resume", json={"answer": "yes"})
        await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")
        history = await (await client.get(f"/api/v1/runs/{run_id}/history")).get_json()
        steps = [c["step"] for c in history["checkpoints"]]
        assert steps == sorted(steps) and len(steps) >= 4 and steps[0] == 0
        # Step 0 is the input (nothing here), listed and read alike.
        assert history["checkpoints"][0]["state"] == {}
        assert history["checkpoints"][0]["nodes"] == []
        assert (await (await client.get(f"/api/v1/runs/{run_id}/history/0")).get_json()
                )["state"] == {}
        first = await (await client.get(f"/api/v1/runs/{run_id}/history/{steps[1]}")).get_json()
        assert first["state"] == {"draft": "v1"}

        edited = await client.post(f"/api/v1/runs/{run_id}/state",
                                   json={"values": {"note": "edited"}})
        assert edited.status_code == 200
        forked = await client.post(f"/api/v1/runs/{run_id}/fork", json={"step": steps[1]})
        assert forked.status_code == 202
        fork_id = (await forked.get_json())["run_id"]
        fork_state = await (await client.get(f"/api/v1/runs/{fork_id}/wait?timeout=10")).get_json()
        # The fork goes on from after "draft": it waits at "approve" again.
        assert fork_state["status"] == "waiting"
        replayed = await client.post(f"/api/v1/runs/{run_id}/replay", json={})
        assert replayed.status_code == 202
        original = await (await client.get(f"/api/v1/graph/state/{run_id}")).get_json()
        latest = await (await client.get(f"/api/v1/runs/{run_id}/history")).get_json()
    # The edit is a new checkpoint, and the run's current state shows it.
    assert original["status"] == "completed" and original["current_state"]["note"] == "edited"
    assert latest["checkpoints"][-1]["state"]["note"] == "edited"


async def test_the_websocket_feed_says_waiting_then_resumed_and_follows_the_run_to_its_end(
        anyio_backend: str) -> None:
    import json

    import anyio

    async with serving(anyio_backend) as client:
        created = await client.post("/api/v1/graph/create", json=APPROVAL)
        graph_id = (await created.get_json())["graph_id"]
        started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id,
                                                               "initial_state": {}})
        run_id = (await started.get_json())["run_id"]
        messages: list[dict[str, Any]] = []
        async with client.websocket(f"/api/v1/graph/ws/{run_id}") as ws:
            while True:
                with anyio.fail_after(10):
                    message = json.loads(await ws.receive())
                messages.append(message)
                if message["type"] == "waiting":
                    # Answer over HTTP while the WebSocket stays open across the pause.
                    resp = await client.post(f"/api/v1/runs/{run_id}/resume",
                                             json={"answer": "ok"})
                    assert resp.status_code == 202
                if message["type"] == "complete":
                    break
    types = [m["type"] for m in messages]
    assert types.index("waiting") < types.index("resumed") < types.index("complete")
    waiting = messages[types.index("waiting")]
    assert waiting["interrupt"]["node"] == "approve"
    assert messages[-1]["status"] == "completed"
    assert messages[-1]["final_state"]["approved"] == "ok"
    assert [m["seq"] for m in messages] == list(range(len(messages)))
