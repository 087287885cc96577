"""Routing: sequences, conditions, parallel fan-out and joins, maps, loops and max_steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from runtime import (
    END,
    Graph,
    MaxStepsExceeded,
    ParallelWriteConflict,
    RunFailed,
    Runtime,
    WorkflowState,
)

Node = Callable[[WorkflowState], Any]


async def run_graph(graph: Graph, data: dict[str, Any] | None = None,
                    **start_kw: Any) -> WorkflowState:
    async with Runtime() as rt:
        run = await rt.start(graph.compile(), data, **start_kw)
        return await run.result()


class Trace:
    """Records the order in which nodes run; makes recording nodes."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def node(self, name: str, update: dict[str, Any] | None = None) -> Node:
        async def fn(state: WorkflowState) -> dict[str, Any] | None:
            self.order.append(name)
            return update

        fn.__name__ = name
        return fn

    def add(self, g: Graph, *names: str) -> Graph:
        for n in names:
            g.add_node(n, self.node(n))
        return g


# --- sequences and conditions -------------------------------------------------------------


async def test_sequential_edges_run_nodes_in_order() -> None:
    t = Trace()
    g = t.add(Graph("seq"), "a", "b", "c")
    g.add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    await run_graph(g)
    assert t.order == ["a", "b", "c"]


async def test_each_node_sees_the_updates_of_the_nodes_before_it() -> None:
    async def first(state: WorkflowState) -> dict[str, Any]:
        return {"x": 1}

    async def second(state: WorkflowState) -> dict[str, Any]:
        return {"y": state.data["x"] + 1}

    g = Graph("seq").add_node("first", first).add_node("second", second)
    g.add_edge("first", "second")
    assert (await run_graph(g)).data == {"x": 1, "y": 2}


async def test_sync_node_runs_and_its_update_merges() -> None:
    def sync(state: WorkflowState) -> dict[str, Any]:
        return {"sync": True}

    g = Graph("sync").add_node("s", sync).add_edge("s", END)
    assert (await run_graph(g)).data == {"sync": True}


def branching(t: Trace) -> Graph:
    g = t.add(Graph("cond"), "check", "high", "low", "default")
    g.add_conditional_edge("check", "high", "score > 50")
    g.add_conditional_edge("check", "low", "score < 80")
    g.add_edge("check", "default")
    return g


async def test_condition_that_holds_routes_to_its_target() -> None:
    t = Trace()
    await run_graph(branching(t), {"score": 90})
    assert t.order == ["check", "high"]


async def test_every_condition_that_holds_fires() -> None:
    t = Trace()
    await run_graph(branching(t), {"score": 60})
    assert t.order[0] == "check"
    assert sorted(t.order[1:]) == ["high", "low"]


async def test_unconditional_edge_is_not_taken_when_some_condition_holds() -> None:
    t = Trace()
    g = branching(t)
    g.add_conditional_edge("check", "high", "score == 1000")  # a third, false condition
    await run_graph(g, {"score": 50})
    assert t.order == ["check", "low"]


async def test_default_path_runs_only_when_no_condition_holds() -> None:
    t = Trace()
    g = t.add(Graph("cond"), "check", "yes", "default")
    g.add_conditional_edge("check", "yes", "flag")
    g.add_edge("check", "default")
    await run_graph(g, {"flag": False})
    assert t.order == ["check", "default"]


async def test_callable_condition_routes_on_the_state() -> None:
    t = Trace()
    g = t.add(Graph("cond"), "check", "yes", "no")
    g.add_conditional_edge("check", "yes", lambda s: s.data["n"] > 1)
    g.add_edge("check", "no")
    await run_graph(g, {"n": 2})
    assert t.order == ["check", "yes"]


async def test_conditional_edge_to_end_finishes_the_run() -> None:
    t = Trace()
    g = t.add(Graph("cond"), "check", "more")
    g.add_conditional_edge("check", END, "done")
    g.add_edge("check", "more")
    await run_graph(g, {"done": True})
    assert t.order == ["check"]


async def test_seed_loop_repeats_while_score_is_below_threshold_then_finishes() -> None:
    async def improve(state: WorkflowState) -> dict[str, Any]:
        return {"score": state.data["score"] + 10, "rounds": state.data.get("rounds", 0) + 1}

    t = Trace()
    g = Graph("loop").add_node("improve", improve)
    t.add(g, "report")
    g.add_conditional_edge("improve", "improve", "score < threshold")
    g.add_edge("improve", "report")
    g.add_edge("report", END)
    final = await run_graph(g, {"score": 40, "threshold": 70})
    assert final.data["score"] == 70
    assert final.data["rounds"] == 3
    assert t.order == ["report"]


async def test_loop_through_two_nodes_runs_each_node_every_time() -> None:
    t = Trace()

    async def count(state: WorkflowState) -> dict[str, Any]:
        return {"n": state.data["n"] + 1}

    g = Graph("loop").add_node("count", count)
    t.add(g, "check")
    g.add_edge("count", "check")
    g.add_conditional_edge("check", "count", "n < 4")
    g.add_edge("check", END)
    final = await run_graph(g, {"n": 0})
    assert final.data["n"] == 4
    assert t.order == ["check"] * 4


async def test_condition_on_a_missing_key_fails_the_run_with_a_hint() -> None:
    g = Trace().add(Graph("cond"), "a", "b")
    g.add_conditional_edge("a", "b", "score < 3")
    g.add_edge("a", END)
    with pytest.raises(RunFailed, match="reads data key 'score', which is not set"):
        await run_graph(g)


# --- parallel fan-out and joins --------------------------------------------------------------


def appender(key: str, value: Any, order: list[str] | None = None) -> Node:
    async def fn(state: WorkflowState) -> dict[str, Any]:
        if order is not None:
            order.append(str(value))
        return {key: [value]}

    return fn


async def test_unconditional_edges_fan_out_to_every_target() -> None:
    t = Trace()
    g = t.add(Graph("fan"), "s", "x", "y", "z")
    g.add_edge("s", ["x", "y", "z"])
    await run_graph(g)
    assert t.order[0] == "s" and sorted(t.order[1:]) == ["x", "y", "z"]


async def test_fan_out_branches_run_concurrently() -> None:
    # Each branch waits for all three to have started: this completes only if they overlap.
    started = 0
    all_started = anyio.Event()

    async def branch(state: WorkflowState) -> None:
        nonlocal started
        started += 1
        if started == 3:
            all_started.set()
        await all_started.wait()

    g = Graph("fan").add_node("s", Trace().node("s"))
    for n in ("x", "y", "z"):
        g.add_node(n, branch)
    g.add_edge("s", ["x", "y", "z"])
    with anyio.fail_after(10):
        await run_graph(g)
    assert started == 3


def multi_step_fan_out(join_runs: list[WorkflowState]) -> Graph:
    async def join(state: WorkflowState) -> None:
        join_runs.append(state)

    g = Graph("fan", reducers={"out": "append"})
    g.add_node("s", Trace().node("s"))
    for b in ("a", "b", "c"):
        g.add_node(f"{b}1", appender("out", f"{b}1"))
        g.add_node(f"{b}2", appender("out", f"{b}2"))
        g.add_edge("s", f"{b}1").add_edge(f"{b}1", f"{b}2")
    g.add_node("join", join)
    g.add_join(["a2", "b2", "c2"], "join")
    g.add_edge("join", END)
    return g


async def test_join_after_multi_node_branches_runs_once() -> None:
    join_runs: list[WorkflowState] = []
    await run_graph(multi_step_fan_out(join_runs))
    assert len(join_runs) == 1


async def test_join_runs_after_every_branch_arrived_and_sees_all_writes() -> None:
    join_runs: list[WorkflowState] = []
    final = await run_graph(multi_step_fan_out(join_runs))
    (seen,) = join_runs
    assert sorted(seen.data["out"]) == ["a1", "a2", "b1", "b2", "c1", "c2"]
    assert sorted(final.data["out"]) == sorted(seen.data["out"])


async def test_join_waits_for_a_slow_branch() -> None:
    gate = anyio.Event()
    t = Trace()

    async def slow(state: WorkflowState) -> None:
        await gate.wait()
        t.order.append("slow")

    g = t.add(Graph("fan"), "s", "fast", "join")
    g.add_node("slow", slow)
    g.add_edge("s", ["fast", "slow"]).add_join(["fast", "slow"], "join")
    async with Runtime() as rt:
        run = await rt.start(g.compile())
        await anyio.wait_all_tasks_blocked()
        assert t.order == ["s", "fast"]
        gate.set()
        await run.result()
    assert t.order == ["s", "fast", "slow", "join"]


async def test_nested_fan_outs_join_inner_then_outer_once_each() -> None:
    t = Trace()
    g = t.add(Graph("nested"), "s", "a", "a1", "a2", "inner", "b", "outer")
    g.add_edge("s", ["a", "b"])
    g.add_edge("a", ["a1", "a2"]).add_join(["a1", "a2"], "inner")
    g.add_join(["inner", "b"], "outer")
    g.add_edge("outer", END)
    await run_graph(g)
    assert sorted(t.order) == sorted(["s", "a", "a1", "a2", "inner", "b", "outer"])
    assert t.order.index("inner") > max(t.order.index("a1"), t.order.index("a2"))
    assert t.order[-1] == "outer"


async def test_fan_out_branch_ending_at_end_does_not_block_the_join() -> None:
    t = Trace()
    g = t.add(Graph("fan"), "s", "a", "b", "join")
    g.add_edge("s", ["a", "b"])
    g.add_edge("a", "join")
    g.add_conditional_edge("b", END, "true")
    g.add_edge("b", "join")
    g.add_edge("join", END)
    await run_graph(g)
    assert t.order.count("join") == 1


async def test_conditions_firing_together_fan_out_and_join() -> None:
    t = Trace()
    g = t.add(Graph("cond-fan"), "check", "x", "y", "join")
    g.add_conditional_edge("check", "x", "go")
    g.add_conditional_edge("check", "y", "go")
    g.add_join(["x", "y"], "join")
    g.add_edge("join", END)
    await run_graph(g, {"go": True})
    assert t.order.count("join") == 1 and t.order[-1] == "join"


async def test_parallel_branches_with_a_reducer_keep_every_write() -> None:
    g = Graph("fan", reducers={"out": "append"})
    g.add_node("s", Trace().node("s"))
    for n in ("x", "y", "z"):
        g.add_node(n, appender("out", n))
    g.add_edge("s", ["x", "y", "z"])
    assert sorted((await run_graph(g)).data["out"]) == ["x", "y", "z"]


# --- map edges ---------------------------------------------------------------------------------


async def test_map_runs_the_target_once_per_item_with_the_item_in_data() -> None:
    seen: list[Any] = []

    async def work(state: WorkflowState) -> None:
        seen.append(state.data["file"])

    g = Graph("map").add_node("split", Trace().node("split")).add_node("work", work)
    g.add_map_edge("split", "work", over="files", item_key="file")
    await run_graph(g, {"files": ["a.py", "b.py", "c.py"]})
    assert sorted(seen) == ["a.py", "b.py", "c.py"]


async def test_map_item_is_not_left_in_the_final_state() -> None:
    g = Graph("map").add_node("split", Trace().node("split")).add_node("work", Trace().node("w"))
    g.add_map_edge("split", "work", over="files", item_key="file")
    final = await run_graph(g, {"files": [1, 2]})
    assert "file" not in final.data


async def test_map_respects_its_concurrency_limit() -> None:
    running = 0
    peak = 0
    started: list[int] = []
    gates = {i: anyio.Event() for i in range(6)}

    async def work(state: WorkflowState) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.append(state.data["item"])
        try:
            await gates[state.data["item"]].wait()
        finally:
            running -= 1

    g = Graph("map").add_node("split", Trace().node("split")).add_node("work", work)
    g.add_map_edge("split", "work", over="items", max_concurrency=2)
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {"items": list(range(6))})
        released = 0
        while released < 6:
            await anyio.wait_all_tasks_blocked()
            # Every item that may run is running and blocked: exactly the limit.
            assert running == min(2, 6 - released)
            gates[started[released]].set()
            released += 1
        await run.result()
    assert peak == 2
    assert sorted(started) == list(range(6))


async def test_map_results_merge_in_item_order_whatever_the_finishing_order() -> None:
    gates = {i: anyio.Event() for i in range(4)}

    async def work(state: WorkflowState) -> dict[str, Any]:
        await gates[state.data["item"]].wait()
        return {"out": state.data["item"] * 10}

    g = Graph("map", reducers={"out": "append"})
    g.add_node("split", Trace().node("split")).add_node("work", work)
    g.add_map_edge("split", "work", over="items")
    async with Runtime() as rt:
        run = await rt.start(g.compile(), {"items": [0, 1, 2, 3], "out": []})
        for i in (3, 1, 2, 0):  # finish in reverse-ish order
            await anyio.wait_all_tasks_blocked()
            gates[i].set()
        final = await run.result()
    assert final.data["out"] == [0, 10, 20, 30]


async def test_map_target_edges_are_followed_once_after_all_items() -> None:
    t = Trace()
    g = Graph("map", reducers={"out": "append"})
    t.add(g, "split", "after")
    g.add_node("work", appender("out", "w", t.order))
    g.add_map_edge("split", "work", over="items")
    g.add_edge("work", "after")
    final = await run_graph(g, {"items": [1, 2, 3]})
    assert t.order == ["split", "w", "w", "w", "after"]
    assert final.data["out"] == ["w", "w", "w"]


async def test_map_over_empty_list_skips_the_target_and_follows_its_edges() -> None:
    t = Trace()
    g = t.add(Graph("map"), "split", "work", "after")
    g.add_map_edge("split", "work", over="items")
    g.add_edge("work", "after")
    await run_graph(g, {"items": []})
    assert t.order == ["split", "after"]


async def test_map_items_writing_same_key_without_reducer_fail_naming_both_items() -> None:
    async def work(state: WorkflowState) -> dict[str, Any]:
        return {"result": state.data["item"]}

    g = Graph("map").add_node("split", Trace().node("split")).add_node("work", work)
    g.add_map_edge("split", "work", over="items")
    with pytest.raises(RunFailed) as info:
        await run_graph(g, {"items": ["a", "b"]})
    conflict = info.value.__cause__
    assert isinstance(conflict, ParallelWriteConflict)
    assert conflict.branches == ("work[0]", "work[1]")


async def test_map_over_a_non_list_fails_naming_the_edge() -> None:
    g = Trace().add(Graph("map"), "split", "work")
    g.add_map_edge("split", "work", over="items")
    with pytest.raises(RunFailed, match=r"map edge split->work: data\['items'\] must be a list"):
        await run_graph(g, {"items": "abc"})


async def test_map_as_one_branch_of_a_fan_out_joins_with_the_others_once() -> None:
    t = Trace()
    g = Graph("fan-map", reducers={"out": "append"})
    t.add(g, "s", "join")
    g.add_node("plain", appender("out", "plain", t.order))
    g.add_node("work", appender("out", "w", t.order))
    g.add_edge("s", "plain")
    g.add_map_edge("s", "work", over="items")
    g.add_join(["plain", "work"], "join")
    final = await run_graph(g, {"items": [1, 2, 3]})
    assert sorted(final.data["out"]) == ["plain", "w", "w", "w"]
    assert t.order.count("join") == 1 and t.order[-1] == "join"


# --- max_steps ---------------------------------------------------------------------------------


def runaway() -> Graph:
    t = Trace()
    g = t.add(Graph("runaway"), "start", "a", "b", "c", "done")
    g.add_edge("start", "a").add_edge("a", "b").add_edge("b", "c")
    g.add_conditional_edge("c", "a", "true")
    g.add_edge("c", "done")
    return g


async def test_max_steps_stops_a_runaway_loop() -> None:
    with pytest.raises(MaxStepsExceeded, match="max_steps=20"):
        await run_graph(runaway(), max_steps=20)


async def test_max_steps_error_names_the_loops_nodes() -> None:
    with pytest.raises(MaxStepsExceeded) as info:
        await run_graph(runaway(), max_steps=20)
    assert sorted(info.value.loop) == ["a", "b", "c"]
    assert info.value.node in {"a", "b", "c"}
    assert "looping through" in str(info.value)
    assert info.value.run_id is not None


async def test_graph_max_steps_applies_when_the_run_sets_none() -> None:
    g = runaway()
    g.max_steps = 7
    with pytest.raises(MaxStepsExceeded, match="max_steps=7"):
        await run_graph(g)


async def test_a_run_within_max_steps_completes() -> None:
    t = Trace()
    g = t.add(Graph("short"), "a", "b", "c")
    g.add_edge("a", "b").add_edge("b", "c")
    await run_graph(g, max_steps=3)
    assert t.order == ["a", "b", "c"]
