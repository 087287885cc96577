"""Runs stored before deltas kept only the changed keys (delta format 1: the changed
values verbatim, snapshots every 20 steps) and before execution logs named their
input by step: they still page, rebuild, resume and fork (``fixtures/format1.sqlite``,
see test_format1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime import Runtime

FIXTURE = Path(__file__).parent / "fixtures" / "format1.sqlite"


@pytest.fixture
def url(tmp_path: Path) -> str:
    copy = tmp_path / "format1.sqlite"
    shutil.copyfile(FIXTURE, copy)
    return f"sqlite:///{copy}"


async def test_format1_deltas_keep_their_changed_values_and_page(url: str) -> None:
    async with Runtime(url, recover=False) as rt:
        whole = await rt.history("done-fanout")
        by_step = {c.step: c for c in whole}
        # Stored verbatim in format 1 ({"changed": {"parts": ["left"]}, ...}).
        assert by_step[2].changed == {"parts": ["left"]}
        assert by_step[3].changed == {"parts": ["left", "right"]}
        paged = []
        after = -1
        while page := await rt.history("done-fanout", after=after, limit=3):
            paged += page
            after = page[-1].step
        assert [(c.step, c.state, c.changed) for c in paged] == [
            (c.step, c.state, c.changed) for c in whole]


async def test_format1_logs_keep_their_input_state(url: str) -> None:
    async with Runtime(url, recover=False) as rt:
        logs = await rt.store.list_logs("done-fanout")
        started = [r for r in logs if r["status"] == "started"]
        assert started and all(r["input_step"] is None for r in started)
        first_left = next(r for r in started if r["node_name"] == "left")
        assert first_left["input_state"] == {"parts": []}


async def test_a_format1_run_resumed_writes_format2_steps_that_rebuild(url: str) -> None:
    async with Runtime(url) as rt:      # recovers crash-counter, mid-loop
        state = await rt.get("crash-counter").result()
        history = await rt.history("crash-counter")
        assert history[-1].state["data"] == state.data
        assert [c.state["data"]["n"] for c in history] == sorted(
            c.state["data"]["n"] for c in history)
        fork = await rt.fork("crash-counter", history[1].step)
        assert (await fork.result()).data["n"] == state.data["n"]
