"""Routing functions and ``Send``: a node's next steps chosen by code, within declared targets.

A *router* (``Graph.add_conditional_edges(source, router, path_map)``) is called
with the state after ``source`` ran and returns where to go: a name, a list of
names (they run in parallel), ``Send(node, payload)`` for a branch that sees its
own payload (several Sends to one node fan out over per-item payloads), or None /
``[]`` for the source's default edges. Names go through ``path_map`` when it is a
dict; either way the result must be one of the targets declared up front (the
path map's values, or the router's ``Literal[...]`` return annotation), so the
graph can still be drawn and validated before it runs.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RunFailed

__all__ = ["START", "Command", "Router", "Send", "check_goto", "declared_targets", "goto_from_json",
           "goto_to_json"]

#: The start of the graph: ``add_edge(START, "first")`` sets the entry point.
START = "__start__"


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` as a branch of its own that sees ``arg`` (LangGraph's ``Send``).

    A dict ``arg`` is laid over the node's view of ``data`` (the node returns what it
    writes, as always); any ``arg`` is also ``ctx.item``. Durable stores keep it in
    the checkpoint, so it must be JSON.
    """

    node: str
    arg: Any = None


@dataclass(frozen=True, slots=True)
class Command:
    """What a node returns to write ``update`` and say where to go next (LangGraph's
    ``Command``): ``goto`` is a node name, END, ``Send(...)`` or a list of them (they
    run in parallel), each one of the targets the node declares with
    ``add_node(..., goto=[...])``. It replaces the node's edges for this step; with no
    ``goto`` the edges are followed as usual."""

    update: Any = None
    goto: str | Send | list[str | Send] | tuple[str | Send, ...] | None = None


def check_goto(node: str, declared: tuple[str, ...], goto: Any, end: str) -> list[str | Send]:
    """``goto`` as a list of targets, each checked against the node's declared ones."""
    items = goto if isinstance(goto, (list, tuple)) else [goto]
    out: list[str | Send] = []
    for x in items:
        name = x.node if isinstance(x, Send) else x
        if name == "END" and end in declared and "END" not in declared:
            name = x = end
        if not isinstance(name, str) or name not in declared:
            listed = ", ".join(repr(d) for d in declared) or "none"
            raise RunFailed(
                f"node {node!r} returned Command(goto={x!r}), but {name!r} is not one of the "
                f"targets it declares ({listed}); declare it with add_node({node!r}, ..., "
                "goto=[...]) (\"goto\" in JSON)", node=node)
        out.append(x)
    return out


def goto_to_json(goto: list[str | Send]) -> list[Any]:
    """A checked goto as JSON, for a checkpoint that holds it until the run goes on (a
    pause ``interrupt_after`` the node that returned it)."""
    return [x if isinstance(x, str) else {"send": x.node, "arg": x.arg} for x in goto]


def goto_from_json(data: list[Any]) -> list[str | Send]:
    return [x if isinstance(x, str) else Send(x["send"], x.get("arg")) for x in data]


def declared_targets(fn: Callable[..., Any], path_map: Mapping[str, str] | Iterable[str] | None
                     ) -> tuple[dict[str, str], str | None]:
    """The router's result -> node table and, if it cannot be known, why."""
    if path_map is not None:
        if isinstance(path_map, Mapping):
            return {str(k): str(v) for k, v in path_map.items()}, None
        if isinstance(path_map, str):
            return {path_map: path_map}, None
        return {str(t): str(t) for t in path_map}, None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - an unresolvable annotation is the same as none
        hints = {}
    names = _literal_names(hints.get("return"))
    if names:
        return {n: n for n in names}, None
    return {}, ("declare where it may go: add_conditional_edges(source, router, "
                "path_map=[...]) or annotate its return type as Literal[\"a\", \"b\"]")


def _literal_names(tp: Any) -> list[str]:
    if tp is None:
        return []
    if typing.get_origin(tp) is typing.Literal:
        return [a for a in typing.get_args(tp) if isinstance(a, str)]
    # list[Literal[...]], Literal[...] | None, Sequence[...]: look inside.
    return [n for a in typing.get_args(tp) for n in _literal_names(a)]


class Router:
    """A compiled routing function of one node."""

    __slots__ = ("fn", "label", "paths", "source")

    def __init__(self, source: str, fn: Callable[..., Any], paths: dict[str, str],
                 label: str) -> None:
        self.source = source
        self.fn = fn
        self.paths = paths
        self.label = label

    @property
    def targets(self) -> list[str]:
        return list(dict.fromkeys(self.paths.values()))

    def pick(self, state: Any, end: str) -> list[str | Send]:
        """Where to go after the source ran; [] for its default edges."""
        try:
            out = self.fn(state)
        except Exception as exc:
            raise RunFailed(f"router {self.label} of node {self.source!r} raised "
                            f"{type(exc).__name__}: {exc}", node=self.source) from exc
        if inspect.isawaitable(out):
            close = getattr(out, "close", None)
            if close is not None:
                close()
            raise RunFailed(f"router {self.label} of node {self.source!r} is async; routers "
                            "are plain functions of the state (do the async work in a node)",
                            node=self.source)
        if out is None:
            return []
        items = out if isinstance(out, (list, tuple)) else [out]
        return [self._one(x, end) for x in items]

    def _one(self, x: Any, end: str) -> str | Send:
        if isinstance(x, Send):
            if x.node not in self.targets:
                raise self._undeclared(x.node, f"Send({x.node!r}, ...)")
            return x
        if not isinstance(x, str):
            raise RunFailed(
                f"router {self.label} of node {self.source!r} returned {x!r} "
                f"({type(x).__name__}); return a node name, a list of names, Send(...) or "
                "None", node=self.source)
        node = self.paths.get(x)
        if node is None:
            if x in ("END", end) and end in self.paths.values():
                return end
            raise self._undeclared(x, repr(x))
        return node

    def _undeclared(self, name: str, shown: str) -> RunFailed:
        keys = ", ".join(repr(k) for k in self.paths) or "none"
        return RunFailed(
            f"router {self.label} of node {self.source!r} returned {shown}, which is not "
            f"one of its declared targets ({keys}); add it to the path map",
            node=self.source)
