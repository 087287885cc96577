"""What a fan-out's steps checkpoint: each step's open frame and appended list as they
were at that step, though the run keeps one mark per step (runtime.frames.FrameAt) and
shares the step's list snapshot between its state and its changed keys
(runtime.growing.snapshot_values)."""

from __future__ import annotations

from typing import Any

from fangraphs import fan_graph

from runtime import Graph, Runtime, WorkflowState

WIDTH = 6


async def branch(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    return {"vals": [config["i"]]}


async def join(state: WorkflowState) -> dict[str, Any]:
    return {"total": sum(state.data["vals"])}


def fan() -> Graph:
    return fan_graph(WIDTH, branch, join)


async def test_each_branch_step_keeps_its_frame_and_list_as_they_were() -> None:
    async with Runtime() as rt:
        run = await rt.start(fan().compile(), {})
        final = await run.result()
        history = await rt.store.list_checkpoints(run.id)
    assert final.data["vals"] == list(range(WIDTH))
    branch_steps = [cp for cp in history if cp.nodes and cp.nodes[0].startswith("b")]
    assert [cp.step for cp in branch_steps] == list(range(2, WIDTH + 2))
    for k, cp in enumerate(branch_steps, start=1):
        # The k branches arrived so far (in whatever order the scheduler ran them),
        # their writes in branch order.
        vals = cp.state["data"]["vals"]
        assert len(vals) == k and vals == sorted(vals) and cp.changed["vals"] == vals
        frames = cp.position.frames
        if k == WIDTH:   # the last branch's step: the frame has closed, the join is due
            assert list(frames) == [] and [a.node for a in cp.position.pending] == ["join"]
            continue
        assert len(frames) == 1
        [frame] = frames
        assert frame.kind == "fanout" and frame.join == "join" and frame.expected == WIDTH
        assert frame.arrived == k   # (the join is reached by k branches at this step)
        assert [writes for _, writes in frame.log] == [[{"vals": [i]}] for i in vals]
        assert frame.base == {"vals": None}
