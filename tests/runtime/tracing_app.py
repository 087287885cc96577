"""An application that embeds the runtime and owns its OpenTelemetry tracer provider.

Run as ``python tests/runtime/tracing_app.py BACKEND SCENARIO [DB]`` by
``test_tracing.py``: a tracer provider is process-wide state, so each scenario gets a
process of its own. It prints one JSON object: the spans its in-memory exporter received
and what the scenario observed.

Scenarios:
- ``embedded``: inside the app's own span, a run A -> B where B fails once then succeeds
  (a retry policy); then the server's tracing set-up is called, as ``actorflow serve``
  would, and must leave the app's provider in place.
- ``resume``: a run with a given ``traceparent`` pauses for an answer (``ask``) in a SQLite
  store; a second Runtime on the same file resumes it.
- ``llm``: a node asks an LLM (a fake OpenAI server on loopback) and the request the fake
  received carries the node attempt's trace context.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime import END, Graph, RetryPolicy, Runtime, WorkflowState, ask  # noqa: E402

REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{REMOTE_TRACE}-{REMOTE_PARENT}-01"

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
FAILED_ONCE: set[str] = set()


def span_json(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    return {"name": span.name, "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
            "attributes": dict(span.attributes or {}), "status": span.status.status_code.name}


async def first(state: WorkflowState) -> dict[str, Any]:
    return {"a": 1}


async def flaky(state: WorkflowState) -> dict[str, Any]:
    if state.run_id not in FAILED_ONCE:
        FAILED_ONCE.add(state.run_id)
        raise ConnectionError("flaky once")
    return {"b": 2}


async def approve(state: WorkflowState) -> dict[str, Any]:
    return {"ok": await ask({"question": "go?"})}


async def embedded(backend: str) -> dict[str, Any]:
    graph = Graph("traced")
    graph.add_node("A", first)
    graph.add_node("B", flaky, retry=RetryPolicy(max_attempts=2, initial_delay=0))
    graph.set_entry_point("A")
    graph.add_edge("A", "B")
    graph.add_edge("B", END)
    tracer = trace.get_tracer("the.app")
    async with Runtime() as rt:
        with tracer.start_as_current_span("app.request") as app_span:
            run = await rt.start(graph, {})
        await run.result()
    from api.telemetry import configure_tracing   # what `actorflow serve` calls

    configured = configure_tracing("http://127.0.0.1:9") is not None
    return {"run_id": run.id, "app_span_id": f"{app_span.get_span_context().span_id:016x}",
            "server_setup_configured": configured,
            "provider_is_global": trace.get_tracer_provider() is provider}


async def resume(backend: str, db: str) -> dict[str, Any]:
    graph = Graph("approval")
    graph.add_node("approve", approve)
    graph.set_entry_point("approve")
    graph.add_edge("approve", END)
    async with Runtime(f"sqlite:///{db}") as rt:
        run = await rt.start(graph, {}, trace_parent={"traceparent": TRACEPARENT})
        await run.wait()
        status = run.status.value
    async with Runtime(f"sqlite:///{db}") as rt:   # another process's runtime, say
        rt.register(graph)
        resumed = await rt.resume(run.id, True)
        await resumed.result()
    return {"run_id": run.id, "first_status": status, "final": resumed.status.value}


async def llm(backend: str) -> dict[str, Any]:
    from nodes.llm import LLMRequest
    from nodes.llm_node import ask_llm, use_provider
    from runtime import NodeContext
    from tests.nodes.llm.llm_fake_servers import FakeOpenAI, make_provider, serving

    async def asker(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
        response, _ = await ask_llm(ctx, LLMRequest(prompt="hello"), purpose="test")
        return {"answer": response.text}

    graph = Graph("asks_llm")
    graph.add_node("asker", asker)
    graph.set_entry_point("asker")
    graph.add_edge("asker", END)
    fake = FakeOpenAI()
    async with serving(fake) as url, make_provider("openai", url) as llm_provider:
        with use_provider(llm_provider):
            async with Runtime() as rt:
                run = await rt.start(graph, {}, trace_parent={"traceparent": TRACEPARENT})
                await run.result()
    return {"run_id": run.id, "sent": [r.headers.get("traceparent") for r in fake.requests]}


async def main(backend: str, scenario: str, db: str | None) -> None:
    if scenario == "embedded":
        seen = await embedded(backend)
    elif scenario == "resume":
        assert db is not None
        seen = await resume(backend, db)
    else:
        seen = await llm(backend)
    seen["spans"] = [span_json(s) for s in exporter.get_finished_spans()]
    print(json.dumps(seen))


if __name__ == "__main__":
    backend, scenario = sys.argv[1], sys.argv[2]
    anyio.run(main, backend, scenario, sys.argv[3] if len(sys.argv) > 3 else None,
              backend=backend)
