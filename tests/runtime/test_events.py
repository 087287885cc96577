"""The event stream: typed, gap-free sequence numbers, replay then live, lagging subscribers."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from runtime import (
    END,
    Event,
    EventType,
    Graph,
    NodeContext,
    RunStatus,
    Runtime,
    SubscriberLagged,
    WorkflowState,
)
from runtime.events import EventHub


def writer(key: str, value: Any) -> Any:
    async def node(state: WorkflowState) -> dict[str, Any]:
        return {key: value}

    return node


def chain(length: int, gate: anyio.Event | None = None) -> Graph:
    """n0 -> n1 -> ... ; n0 waits for ``gate`` first, if given; each node writes its name."""

    async def first(state: WorkflowState) -> dict[str, Any]:
        if gate is not None:
            await gate.wait()
        return {"n0": True}

    g = Graph("chain").add_node("n0", first)
    for i in range(1, length):
        g.add_node(f"n{i}", writer(f"n{i}", True))
        g.add_edge(f"n{i - 1}", f"n{i}")
    g.add_edge(f"n{length - 1}", END)
    return g


async def all_events(graph: Graph, data: dict[str, Any] | None = None) -> list[Event]:
    async with Runtime() as rt:
        run = await rt.start(graph.compile(), data)
        await run.wait()
        return [e async for e in run.events()]


# --- what is published --------------------------------------------------------------------


async def test_sequence_numbers_start_at_zero_without_gaps() -> None:
    events = await all_events(chain(5))
    assert [e.seq for e in events] == list(range(len(events)))
    assert len(events) == 2 + 5 * 3


async def test_events_carry_the_run_id() -> None:
    async with Runtime() as rt:
        run = await rt.start(chain(2).compile())
        await run.wait()
        assert {e.run_id async for e in run.events()} == {run.id}


async def test_a_run_publishes_typed_events_in_order() -> None:
    events = await all_events(chain(2))
    assert [(e.type, e.node) for e in events] == [
        (EventType.RUN_STARTED, None),
        (EventType.NODE_STARTED, "n0"),
        (EventType.NODE_COMPLETED, "n0"),
        (EventType.STATE_UPDATED, "n0"),
        (EventType.NODE_STARTED, "n1"),
        (EventType.NODE_COMPLETED, "n1"),
        (EventType.STATE_UPDATED, "n1"),
        (EventType.RUN_COMPLETED, None),
    ]


async def test_run_started_carries_graph_and_input() -> None:
    events = await all_events(chain(1), {"code": "x"})
    assert events[0].data == {"graph": "chain", "input": {"code": "x"}}


async def test_state_updated_carries_the_delta() -> None:
    events = await all_events(chain(2), {"code": "x"})
    deltas = [e.data["update"] for e in events if e.type is EventType.STATE_UPDATED]
    assert deltas == [{"n0": True}, {"n1": True}]


async def test_node_events_carry_the_attempt_and_the_input_state() -> None:
    events = await all_events(chain(1), {"code": "x"})
    started, completed = events[1], events[2]
    # ``input_step``: the checkpoint holding that input (what stores keep of it).
    assert started.data == {"attempt": 1, "input": {"code": "x"}, "input_step": 0}
    assert completed.data["attempt"] == 1 and completed.data["duration_ms"] >= 0


async def test_run_completed_carries_the_final_state() -> None:
    events = await all_events(chain(2), {"code": "x"})
    final = events[-1]
    assert final.type is EventType.RUN_COMPLETED
    assert final.data["state"]["data"] == {"code": "x", "n0": True, "n1": True}
    assert final.data["steps"] == 2


async def test_node_context_log_publishes_a_log_event() -> None:
    async def talk(state: WorkflowState, ctx: NodeContext) -> None:
        ctx.log("hello", lines=3)

    events = await all_events(Graph("log").add_node("talk", talk))
    (log,) = [e for e in events if e.type is EventType.LOG]
    assert log.node == "talk"
    assert log.data == {"message": "hello", "lines": 3}


def test_only_run_end_events_are_terminal() -> None:
    terminal = {t for t in EventType if t.terminal}
    assert terminal == {EventType.RUN_COMPLETED, EventType.RUN_FAILED,
                        EventType.RUN_CANCELLED, EventType.RUN_RELEASED}


def test_event_round_trips_through_a_dict() -> None:
    event = Event(3, "r", EventType.NODE_FAILED, 1.5, "n", {"error": "x"})
    assert event.to_dict()["type"] == "node_failed"
    assert Event.from_dict(event.to_dict()) == event


# --- subscribing ------------------------------------------------------------------------------


async def test_subscribing_after_the_end_replays_everything_and_stops() -> None:
    async with Runtime() as rt:
        run = await rt.start(chain(3).compile())
        await run.result()
        first = [e.seq async for e in run.events()]
        again = [e.seq async for e in run.events()]
    assert first == again == list(range(run.hub.next_seq))


async def test_replay_from_a_sequence_number_skips_earlier_events() -> None:
    async with Runtime() as rt:
        run = await rt.start(chain(3).compile())
        await run.result()
        seqs = [e.seq async for e in run.events(since=4)]
    assert seqs == list(range(4, run.hub.next_seq))


async def test_replay_from_n_then_live_events_without_gap() -> None:
    gate = anyio.Event()
    received: list[int] = []

    async def subscribe(run_events: Any) -> None:
        async for e in run_events:
            received.append(e.seq)

    async with Runtime() as rt:
        run = await rt.start(chain(4, gate).compile())
        await anyio.wait_all_tasks_blocked()
        published = run.hub.next_seq
        assert published >= 2  # run_started and node_started of n0, waiting at the gate
        async with anyio.create_task_group() as tg:
            tg.start_soon(subscribe, run.events(since=1))
            await anyio.wait_all_tasks_blocked()
            assert received == list(range(1, published))  # the replay, then waiting
            gate.set()
        await run.result()
    assert received == list(range(1, run.hub.next_seq))  # then live to the end


async def test_many_subscribers_all_get_every_event() -> None:
    gate = anyio.Event()
    received: dict[int, list[int]] = {i: [] for i in range(20)}

    async def subscribe(i: int, run_events: Any) -> None:
        async for e in run_events:
            received[i].append(e.seq)

    async with Runtime() as rt:
        run = await rt.start(chain(5, gate).compile())
        async with anyio.create_task_group() as tg:
            for i in received:
                tg.start_soon(subscribe, i, run.events())
            await anyio.wait_all_tasks_blocked()
            gate.set()
        await run.result()
    expected = list(range(run.hub.next_seq))
    assert all(seqs == expected for seqs in received.values())


async def test_subscriber_that_never_reads_is_dropped_and_the_run_completes_unaffected() -> None:
    gate = anyio.Event()
    async with Runtime() as rt:
        run = await rt.start(chain(20, gate).compile())
        await anyio.wait_all_tasks_blocked()
        stalled = run.events(buffer=4)
        received = [await stalled.__anext__()]  # subscribed; now it never reads
        gate.set()
        final = await run.result()
        assert run.status is RunStatus.COMPLETED
        assert all(final.data[f"n{i}"] for i in range(20))
        with pytest.raises(SubscriberLagged) as info:
            async for e in stalled:
                received.append(e)
    lagged = info.value
    assert lagged.run_id == run.id
    assert lagged.resume_from == received[-1].seq + 1
    assert lagged.resume_from < run.hub.next_seq
    assert f"events(since={lagged.resume_from})" in str(lagged)


async def test_lagging_subscriber_does_not_disturb_the_others() -> None:
    gate = anyio.Event()
    healthy: list[int] = []

    async def read_all(run_events: Any) -> None:
        async for e in run_events:
            healthy.append(e.seq)

    async with Runtime() as rt:
        run = await rt.start(chain(20, gate).compile())
        await anyio.wait_all_tasks_blocked()
        stalled = run.events(buffer=2)
        await stalled.__anext__()
        async with anyio.create_task_group() as tg:
            tg.start_soon(read_all, run.events())
            await anyio.wait_all_tasks_blocked()
            gate.set()
        await run.result()
        await stalled.aclose()
    assert healthy == list(range(run.hub.next_seq))


async def test_resubscribing_from_resume_from_continues_without_gap() -> None:
    gate = anyio.Event()
    async with Runtime() as rt:
        run = await rt.start(chain(20, gate).compile())
        await anyio.wait_all_tasks_blocked()
        stalled = run.events(buffer=4)
        received = [await stalled.__anext__()]
        gate.set()
        await run.result()
        with pytest.raises(SubscriberLagged) as info:
            async for e in stalled:
                received.append(e)
        received += [e async for e in run.events(since=info.value.resume_from)]
    assert [e.seq for e in received] == list(range(run.hub.next_seq))


def test_publishing_to_a_full_subscriber_never_blocks() -> None:
    # publish() is synchronous: it cannot wait for a reader by construction.
    hub = EventHub("r")
    for _ in range(10_000):
        hub.publish(EventType.LOG, message="x")
    assert hub.next_seq == 10_000
