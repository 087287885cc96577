"""Loops in a graph: strongly connected components (for MaxStepsExceeded and for
keeping the workers of looping nodes alive)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["components", "loop_of"]


def components(succ: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
    """Each node's strongly connected component (Tarjan, iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: dict[str, frozenset[str]] = {}
    counter = 0
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(succ.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members: list[str] = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    members.append(m)
                    if m == node:
                        break
                component = frozenset(members)
                for m in members:
                    out[m] = component
    return out


def loop_of(succ: Mapping[str, Collection[str]], node: str) -> list[str]:
    """The nodes of the cycle through ``node`` (``succ``: each node's successors), in a
    walking order starting at it; ``[node]`` if it is on no cycle."""
    component = components(succ).get(node, frozenset({node}))
    order: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n in order:
            continue
        order.append(n)
        stack.extend(sorted((m for m in succ.get(n, ()) if m in component), reverse=True))
    return order
