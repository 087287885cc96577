"""Live-only events: ``ctx.emit`` custom events and model tokens reach the subscribers
of the moment, in order among the stored events, and are never stored or replayed."""

from __future__ import annotations

from typing import Any

import anyio

from runtime import END, EventType, Graph, NodeContext, Runtime, WorkflowState


def _graph(gate: anyio.Event) -> Graph:
    async def work(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
        await gate.wait()
        ctx.emit("progress", {"done": 1, "of": 2})
        call = ctx.new_call()
        for i, piece in enumerate(["Hel", "lo"]):
            ctx.token(call, piece, i)
        ctx.emit("progress", {"done": 2, "of": 2})
        return {"reply": "Hello"}

    g = Graph("live")
    g.add_node("work", work)
    g.add_edge("work", END)
    return g


async def test_custom_events_and_tokens_reach_a_live_subscriber_in_order(
        store_url: str) -> None:
    gate = anyio.Event()
    async with Runtime(store_url) as rt:
        run = await rt.start(_graph(gate).compile(), {})
        seen: list[Any] = []
        async for event in run.events():
            if event.type is EventType.RUN_STARTED:
                gate.set()   # subscribed (the replay came after subscribing)
            seen.append(event)
        kinds = [(e.type.value, e.live) for e in seen]
        assert kinds == [("run_started", False), ("node_started", False),
                         ("custom", True), ("token", True), ("token", True),
                         ("custom", True), ("node_completed", False),
                         ("state_updated", False), ("run_completed", False)]
        custom = [e for e in seen if e.type is EventType.CUSTOM]
        assert [(e.node, e.data) for e in custom] == [
            ("work", {"kind": "progress", "payload": {"done": 1, "of": 2}}),
            ("work", {"kind": "progress", "payload": {"done": 2, "of": 2}})]
        tokens = [e.data for e in seen if e.type is EventType.TOKEN]
        assert [(t["call_id"], t["text"], t["index"]) for t in tokens] == [
            ("work:0:1:1", "Hel", 0), ("work:0:1:1", "lo", 1)]
        # A live event carries the seq of the last stored event before it, so resuming
        # from seq + 1 misses nothing.
        started = next(e for e in seen if e.type is EventType.NODE_STARTED)
        assert {e.seq for e in seen if e.live} == {started.seq}
        # Stored and replayed: only the lasting events.
        stored = await rt.store.read_events(run.id, 0)
        assert [e.type for e in stored] == [e.type for e in seen if not e.live]
        replayed = [e async for e in rt.events(run.id)]
        assert not any(e.live for e in replayed)
        assert (await run.result()).data == {"reply": "Hello"}
