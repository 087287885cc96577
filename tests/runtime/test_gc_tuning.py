"""The collector's settings are the application's: a runtime changes them only when
asked (``Runtime(gc_threshold=N)``), and gives them back when it closes."""

from __future__ import annotations

import gc

import pytest

from runtime import END, Graph, Runtime


def one_node() -> Graph:
    async def work(state: object) -> dict[str, int]:
        return {"done": 1}

    g = Graph("gc_tuning")
    g.add_node("work", work)
    g.add_edge("work", END)
    return g


async def test_a_runtime_leaves_the_collector_as_the_application_set_it(
        app_threshold: tuple[int, int, int]) -> None:
    async with Runtime() as rt:
        run = await rt.start(one_node(), {})
        await run.result()
        assert gc.get_threshold() == app_threshold
    assert gc.get_threshold() == app_threshold


async def test_gc_threshold_raises_the_first_threshold_while_open_and_restores_it(
        app_threshold: tuple[int, int, int]) -> None:
    async with Runtime(gc_threshold=50_000) as rt:
        assert gc.get_threshold() == (50_000, 7, 9)
        run = await rt.start(one_node(), {})
        assert (await run.result()).data["done"] == 1
    assert gc.get_threshold() == app_threshold


async def test_nested_runtimes_restore_the_setting_found_by_the_first(
        app_threshold: tuple[int, int, int]) -> None:
    async with Runtime(gc_threshold=20_000):
        assert gc.get_threshold() == (20_000, 7, 9)
        async with Runtime(gc_threshold=50_000):
            assert gc.get_threshold() == (50_000, 7, 9)   # the larger one wins
        # The outer runtime still holds it: not the application's setting yet.
        assert gc.get_threshold()[0] >= 20_000
    assert gc.get_threshold() == app_threshold


def test_a_threshold_below_one_is_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="gc_threshold must be a positive"):
        Runtime(gc_threshold=0)
