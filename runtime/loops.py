"""Naming the loop a runaway run is stuck in (for MaxStepsExceeded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .compiled import CompiledGraph

__all__ = ["loop_of"]


def loop_of(graph: CompiledGraph, node: str) -> list[str]:
    """The nodes of the cycle through ``node`` (its strongly connected component),
    in a walking order starting at ``node``; ``[node]`` if it is on no cycle."""
    succ = graph._succ
    reach = _reachable(succ, node)
    back = {n for n in reach if node in _reachable(succ, n)}
    component = (reach & back) | {node}
    order: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n in order:
            continue
        order.append(n)
        stack.extend(sorted((m for m in succ.get(n, ()) if m in component), reverse=True))
    return order


def _reachable(succ: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(succ.get(start, ()))
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(succ.get(n, ()))
    return seen
