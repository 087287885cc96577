"""Runs stored by an older version (checkpoint format 1) still resume, recover and fork.

``fixtures/format1.sqlite`` was written by main at commit 6c3d033 (see
``fixtures/make_format1.py``): runs finished, runs waiting for answers (in a fan-out,
before and after a node, inside a map), and runs a SIGKILL left running (inside a map
inside a fan-out, in their first node, mid-loop). Each test opens a copy with today's
code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime import RunStatus, Runtime

FIXTURE = Path(__file__).parent / "fixtures" / "format1.sqlite"


@pytest.fixture
def format1_url(tmp_path: Path) -> str:
    copy = tmp_path / "format1.sqlite"
    shutil.copyfile(FIXTURE, copy)
    return f"sqlite:///{copy}"


async def test_format1_runs_killed_mid_run_are_recovered_and_finish(format1_url: str) -> None:
    async with Runtime(format1_url) as rt:
        crashed = {i: await rt.get(i).result() for i in ("crash-map", "crash-entry",
                                                           "crash-counter")}
    # The map's lost third item ran again, merged in item order with the stored ones.
    assert crashed["crash-map"].data["out"] == [10, 20, 30, 40]
    assert crashed["crash-map"].data["total"] == 100
    assert crashed["crash-map"].data["held"] is True
    assert crashed["crash-entry"].data == {"entered": True}
    assert crashed["crash-counter"].data["n"] == 6


async def test_format1_waiting_runs_resume(format1_url: str) -> None:
    async with Runtime(format1_url, recover=False) as rt:
        interrupts = await rt.get_state("wait-asks")
        assert interrupts.data == {"parts": [], "plain": True}
        run = await rt.resume("wait-asks", "x", interrupt_id="ask_a:1:1")
        await run.wait()
        run = await rt.resume("wait-asks", "y", interrupt_id="ask_b:2:1")
        asks = await run.result()
        before = await (await rt.resume("wait-before")).result()
        after = await (await rt.resume("wait-after")).result()
        mapped = await (await rt.resume("wait-map", 200, interrupt_id="review:2:1")).result()
    assert (asks.data["a"], asks.data["b"], asks.data["joined"]) == ("x", "y",
                                                                     ["a", "b", "plain"])
    assert before.data == {"draft": "v1", "published": "v1"}
    assert after.data == {"draft": "v1", "published": "v1"}
    assert mapped.data["out"] == [1, 200, 3, 4]
    assert mapped.data["total"] == 208


async def test_format1_finished_runs_fork_from_open_fanouts_and_state_edits(
        format1_url: str) -> None:
    async with Runtime(format1_url, recover=False) as rt:
        original = await rt.get_state("done-fanout")
        # Step 2: `left` done, `right` still pending inside the fan-out's open frame.
        from_fanout = await (await rt.fork("done-fanout", 2)).result()
        # Step 7: update_state(n=2, as_node="step") after the run finished.
        from_edit = await (await rt.fork("done-counter", 7)).result()
        from_middle = await (await rt.fork("done-counter", 3)).result()
        # Edited inside the fan-out: `left` is routed again (to the join) from the edit.
        edited = await (await rt.fork("done-fanout", 2, values={"rounds": 1})).result()
        record = await rt.store.get_run("done-fanout")
    assert record is not None and record.status == RunStatus.COMPLETED.value
    assert from_fanout.data["rounds"] == original.data["rounds"] == 2
    assert from_fanout.data["seen"] == original.data["seen"]
    assert from_edit.data["n"] == 6
    assert from_middle.data["n"] == 6
    assert (edited.data["rounds"], edited.data["seen"]) == (2, ["left", "right"])
