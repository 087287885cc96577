"""Helpers for the API tests (plain functions and context managers: no async fixtures).

``serving(backend)`` opens an app on a MemoryStore (or ``store``) for the test's
backend, QuartTrio on trio, and yields its test client; the app's serving
lifespan (and so its Runtime) runs for the duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel
from quart import Quart
from quart.typing import TestClientProtocol

from api import Settings, create_app
from runtime import MemoryStore, Store, WorkflowState, registry

__all__ = ["SEED_CREATE", "Order", "chain_graph", "make_settings", "serving",
           "start_waiting_run"]


class Order(BaseModel):
    """A state schema for API tests (named ``_api_support:Order``; needs allow_imports)."""

    amount: int
    customer: str


async def _warn(state: WorkflowState, config: dict[str, Any]) -> WorkflowState:
    """Append ``config.message`` to the state's warnings (as the code-review nodes do)."""
    return state.model_copy(update={"warnings": [*state.warnings, str(config["message"])]})


registry.add_tool(_warn, name="test_warn", description="append a warning (tests)",
                  replace=True)

#: The seed's create-graph example, on built-in tools (the code-review tools live in nodes/).
SEED_CREATE: dict[str, Any] = {
    "name": "code_review_workflow",
    "description": "Analyzes Python code quality",
    "nodes": [
        {"name": "extract", "tool": "set", "config": {"values": {"functions": ["hello"]}}},
        {"name": "analyze", "tool": "set", "config": {"values": {"quality_score": 85}}},
        {"name": "report", "tool": "set", "config": {"values": {"suggestions": ["Add docstring"]}}},
    ],
    "edges": [
        {"from": "extract", "to": "analyze"},
        {"from": "analyze", "to": "report"},
    ],
    "entry_point": "extract",
}


def chain_graph(name: str, *, delay: float = 0.0, fail: bool = False) -> dict[str, Any]:
    """A -> B -> C on built-in tools; B waits ``delay`` seconds, C fails if ``fail``."""
    last = ({"name": "c", "tool": "fail", "config": {"message": "boom"}} if fail
            else {"name": "c", "tool": "set", "config": {"values": {"done": True}}})
    return {
        "name": name,
        "nodes": [
            {"name": "a", "tool": "set", "config": {"values": {"a": 1}}},
            {"name": "b", "tool": "delay", "config": {"seconds": delay}},
            last,
        ],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
    }


async def start_waiting_run(client: Any, graph: dict[str, Any]) -> str:
    """Store ``graph``, start a run of it and wait until it waits for an answer."""
    created = await client.post("/api/v1/graph/create", json=graph)
    assert created.status_code == 201, await created.get_json()
    graph_id = (await created.get_json())["graph_id"]
    started = await client.post("/api/v1/graph/run", json={"graph_id": graph_id,
                                                           "initial_state": {}})
    run_id = (await started.get_json())["run_id"]
    waited = await (await client.get(f"/api/v1/runs/{run_id}/wait?timeout=10")).get_json()
    assert waited["status"] == "waiting"
    return str(run_id)


def make_settings(backend: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"backend": backend, "database_url": "memory://"}
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def serving(backend: str, *, store: Store | None = None,
                  **settings: Any) -> AsyncIterator[TestClientProtocol]:
    app: Quart = create_app(make_settings(backend, **settings), store=store or MemoryStore())
    async with app.test_app() as test_app:
        yield test_app.test_client()
