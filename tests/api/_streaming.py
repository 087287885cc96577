"""Serving the app and a fake LLM on loopback in the test's own event loop, with a
registered node that streams a model's answer (for the token tests and the benchmark).

The app runs under a real Hypercorn server (asyncio or trio, the test's backend) and
is reached with real HTTP and WebSocket clients; the fake LLM is one of
tests/nodes/llm/llm_fake_servers.py's, speaking its provider's stream format.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nodes" / "llm"))
from llm_fake_servers import (  # noqa: E402
    FakeServer,
    Scripted,
    make_provider,
    make_server,
    serving,
)

from api import Settings, create_app  # noqa: E402
from nodes.llm import LLMRequest  # noqa: E402
from nodes.llm_node import ask_llm, use_provider  # noqa: E402
from runtime import MemoryStore, NodeContext, WorkflowState, registry  # noqa: E402

__all__ = ["Scripted", "chat_graph", "gate", "streaming_stack"]


class _Gate:
    """Holds streaming nodes back until the test's WebSocket client is subscribed
    (tokens are live only: a client that subscribes later never sees them)."""

    event: anyio.Event | None = None

    async def wait(self) -> None:
        if self.event is not None:
            await self.event.wait()

    def open(self) -> None:
        if self.event is not None:
            self.event.set()


gate = _Gate()


async def _stream_chat(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    await gate.wait()
    response, _ = await ask_llm(ctx, LLMRequest(prompt=str(state["prompt"])), purpose="chat",
                            stream=True)
    return {"reply": response.text}


registry.add_tool(_stream_chat, name="test_stream_chat",
                  description="answer data.prompt, streaming (tests)", replace=True)


def chat_graph(name: str = "stream_chat", *, attempts: int = 1) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "chat", "tool": "test_stream_chat"}
    if attempts > 1:
        node["retry"] = {"max_attempts": attempts, "initial_delay": 0, "jitter": False}
    return {"name": name, "nodes": [node], "edges": [{"from": "chat", "to": "END"}]}


@asynccontextmanager
async def streaming_stack(backend: str, kind: str, script: list[Scripted] | None = None
                          ) -> AsyncIterator[tuple[httpx.AsyncClient, str, FakeServer]]:
    """A fake ``kind`` LLM, the app answering through it, and an HTTP client of the app;
    yields (client, ws base URL, the fake). ``gate`` is armed for the duration."""
    llm = make_server(kind, script or [])
    app = create_app(Settings(backend=backend, database_url="memory://"), store=MemoryStore())
    gate.event = anyio.Event()
    try:
        async with serving(llm) as llm_url, make_provider(kind, llm_url) as provider, \
                serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:  # type: ignore[arg-type]
            with use_provider(provider):
                yield client, url.replace("http://", "ws://"), llm
    finally:
        gate.event = None
