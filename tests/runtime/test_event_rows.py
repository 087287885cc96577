"""A run's events are kept as rows (runtime.events.EventRow) by its hub and a memory store,
and read back as the Events they were published as (issue 10: W3's per-run memory: a
dozen events per run in flight and per finished run kept)."""

from __future__ import annotations

import gc
import tracemalloc

import anyio
import pytest

from runtime import Runtime
from runtime.events import Event, EventHub, EventType
from runtime.store import MemoryStore

EVENTS = 1000


def test_a_kept_event_costs_a_row_not_an_event_and_its_data_dict() -> None:
    # W3's events (node_started with its input, node_completed with its update): an
    # Event with its data dict was ~370 bytes each; the row ~140.
    inputs, update = {"x": 1}, {"y": 2}
    log: list[tuple[object, ...]] = []
    hub = EventHub("r", log=log)
    hub.publish(EventType.NODE_STARTED, "warm", attempt=1, input=inputs, input_step=0)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(EVENTS // 2):
            hub.publish(EventType.NODE_STARTED, "n", attempt=1, input=inputs, input_step=i)
            hub.publish(EventType.NODE_COMPLETED, "n", attempt=1, duration_ms=0.5,
                        update=update)
        per_event = (tracemalloc.get_traced_memory()[0] - before) / EVENTS
    finally:
        tracemalloc.stop()
    assert per_event < 200, f"{per_event:.0f} bytes kept per event"
    assert len(log) == EVENTS + 1


def test_kept_events_read_back_as_published_each_reader_with_its_own_data() -> None:
    hub = EventHub("r")
    hub.publish(EventType.RUN_STARTED, graph="g", input={"a": [1]})
    hub.publish(EventType.NODE_STARTED, "n", attempt=1, input={"a": [1]}, input_step=0)
    hub.publish(EventType.LOG, "n", message="hi", level="info")
    hub.publish(EventType.RUN_COMPLETED)
    first, again = hub.events_since(0), hub.events_since(1)
    assert first == [
        Event(0, "r", EventType.RUN_STARTED, first[0].ts, None, {"graph": "g", "input": {"a": [1]}}),
        Event(1, "r", EventType.NODE_STARTED, first[1].ts, "n",
              {"attempt": 1, "input": {"a": [1]}, "input_step": 0}),
        Event(2, "r", EventType.LOG, first[2].ts, "n", {"message": "hi", "level": "info"}),
        Event(3, "r", EventType.RUN_COMPLETED, first[3].ts, None, {}),
    ]
    assert all(type(e.type) is EventType for e in first)
    assert list(first[1].data) == ["attempt", "input", "input_step"]   # in its order
    # A reader changing its event's data changes nobody else's.
    first[2].data["message"] = "mine"
    assert again[1].data["message"] == "hi" and hub.events_since(2)[0].data["message"] == "hi"


@pytest.mark.parametrize("shapes", [1, 5000])
def test_events_of_many_shapes_are_kept_each_with_its_own_keys(shapes: int) -> None:
    # Shapes past the shared table's bound keep a key tuple of their own.
    hub = EventHub("r")
    for i in range(shapes):
        hub.publish(EventType.LOG, "n", **{f"k{i}": i})
    assert [e.data for e in hub.events_since(0)] == [{f"k{i}": i} for i in range(shapes)]


async def test_a_memory_store_reads_a_runs_events_back_as_its_live_readers_got_them() -> None:
    from runtime import END, Graph

    async def node(state: object) -> dict[str, int]:
        return {"n": 1}

    g = Graph("rows")
    g.add_node("a", node)
    g.add_edge("a", END)
    async with Runtime(MemoryStore()) as rt:
        run = await rt.start(g.compile(), {})
        live = [e async for e in run.events()]
        stored = await rt.store.read_events(run.id)
        logs = await rt.store.list_logs(run.id)
    assert stored == live
    assert [e.type for e in stored][-1] is EventType.RUN_COMPLETED
    assert [(r["node_name"], r["status"]) for r in logs] == [("a", "started"), ("a", "completed")]
    assert logs[1]["output_state"] == {"n": 1}


async def test_emit_keeps_and_delivers_what_publish_does_for_the_same_data() -> None:
    # The runtime's per-node events go through emit (keys and values, no keyword dict):
    # a reader, a live subscriber and a store's writer must not tell the two apart.
    sunk: dict[str, list[Event]] = {"publish": [], "emit": []}
    live: dict[str, list[Event]] = {"publish": [], "emit": []}
    kept: dict[str, list[Event]] = {}

    async def read(hub: EventHub, into: list[Event]) -> None:
        async for e in hub.subscribe():
            into.append(e)

    for way in ("publish", "emit"):
        hub = EventHub("r", sink=sunk[way].append)
        async with anyio.create_task_group() as tg:
            tg.start_soon(read, hub, live[way])
            await anyio.wait_all_tasks_blocked()
            if way == "publish":
                hub.publish(EventType.NODE_STARTED, "n", attempt=2, input={"a": [1]},
                            input_step=7)
            else:
                hub.emit(EventType.NODE_STARTED, "n", ("attempt", "input", "input_step"),
                         2, {"a": [1]}, 7)
            hub.close()
        kept[way] = hub.events_since(0)
    expected = [(0, EventType.NODE_STARTED, "n",
                 {"attempt": 2, "input": {"a": [1]}, "input_step": 7})]
    for events in (live, sunk, kept):
        for way in ("publish", "emit"):
            got = events[way]
            assert [(e.seq, e.type, e.node, e.data) for e in got] == expected
            assert list(got[0].data) == ["attempt", "input", "input_step"]   # in its order


@pytest.mark.parametrize("sink", [False, True])
def test_emit_with_keys_and_values_that_do_not_match_publishes_nothing(sink: bool) -> None:
    sunk: list[Event] = []
    hub = EventHub("r", sink=sunk.append if sink else None)
    hub.publish(EventType.RUN_STARTED, graph="g", input={})
    with pytest.raises(ValueError, match=r"node_started event: 1 values for the 2 keys"):
        hub.emit(EventType.NODE_STARTED, "n", ("attempt", "input"), 1)
    # Nothing kept, no sequence number used, the run's events still read back.
    assert hub.next_seq == 1
    assert [e.type for e in hub.events_since(0)] == [EventType.RUN_STARTED]
    assert [e.seq for e in sunk] == ([0] if sink else [])
    hub.emit(EventType.NODE_STARTED, "n", ("attempt",), 1)
    assert [(e.seq, e.data) for e in hub.events_since(1)] == [(1, {"attempt": 1})]


def test_a_bounded_publisher_checks_node_events_emitted_as_keys_and_values() -> None:
    from runtime.errors import EventTooLargeError
    from runtime.payload_bounds import BoundedPublisher

    hub = EventHub("r")
    bounded = BoundedPublisher(hub, 100, "r")
    with pytest.raises(EventTooLargeError, match="max_event_bytes=100"):
        bounded.emit(EventType.LOG, "n", ("message",), "x" * 200)
    bounded.emit(EventType.LOG, "n", ("message",), "short")
    # Not a node's own event (the runtime's node_started with a big input): not bounded.
    bounded.emit(EventType.NODE_STARTED, "n", ("attempt", "input", "input_step"),
                 1, {"big": "x" * 200}, 0)
    assert [(e.type, e.data.get("message")) for e in hub.events_since(0)] == [
        (EventType.LOG, "short"), (EventType.NODE_STARTED, None)]
