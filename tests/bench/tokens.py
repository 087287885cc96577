"""``token_stream_latency_ms``: p50 and p99 from a fake provider sending a token to a
WebSocket client receiving it.

A real server (Hypercorn, the app, the backend under test) runs a one-node graph whose
node streams a model's answer (``ask(..., stream=True)``) from the tests' fake
OpenAI-compatible server on loopback, which sends one word per server-sent event,
spaced out by :data:`CHUNK_DELAY_S` (latency, not backlog). A WebSocket client with
``?mode=tokens`` notes when each token arrives; the fake notes when it sent each chunk;
both clocks are this process's ``time.monotonic()``. Nothing here asserts anything.

    python -m tests.bench.tokens [asyncio|trio]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

__all__ = ["token_latency_samples"]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

#: Seconds between two streamed chunks.
CHUNK_DELAY_S = 0.002


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def token_latency_samples(backend: str, tokens: int = 300) -> dict[str, Any]:
    from _streaming import Scripted, chat_graph, gate, streaming_stack
    from httpx_ws import aconnect_ws

    prompt = " ".join(f"w{i}" for i in range(tokens - 1))   # + "echo:" = tokens pieces
    script = [Scripted(chunk_delay=CHUNK_DELAY_S)]
    async with streaming_stack(backend, "openai", script) as (client, ws, llm):
        created = await client.post("/api/v1/graph/create", json=chat_graph("bench_tokens"))
        run = await client.post("/api/v1/graph/run", json={
            "graph_id": created.json()["graph_id"], "initial_state": {"prompt": prompt}})
        run_id = run.json()["run_id"]
        received: dict[int, float] = {}
        async with aconnect_ws(f"{ws}/api/v1/graph/ws/{run_id}?mode=debug,tokens",
                               client) as sock:
            while True:
                message = json.loads(await sock.receive_text(timeout=60))
                now = time.monotonic()
                gate.open()
                if message["type"] == "token":
                    received[message["index"]] = now
                elif message["type"] == "complete":
                    break
    # The fake's first chunk is the role chunk (no text): chunk i + 1 carries token i.
    sent = llm.sent_at[1:1 + len(received)]
    lat = [(received[i] - sent[i]) * 1000 for i in range(min(len(sent), len(received)))]
    return {"token_stream_latency_ms_p50": statistics.median(lat),
            "token_stream_latency_ms_p99": _pct(lat, 99), "tokens": len(lat)}


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    print(json.dumps(anyio.run(token_latency_samples, backend, backend=backend), indent=1))


if __name__ == "__main__":
    main()
