"""Graphs for the human-in-the-loop tests (module level: a restarted process rebuilds them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from runtime import END, Graph, WorkflowState, ask

CALLS: dict[str, int] = {}


def _count(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


class Approval(BaseModel):
    approved: bool
    comment: str = ""


async def approve(state: WorkflowState) -> dict[str, Any]:
    _count("approve")
    answer = await ask({"question": "apply?", "draft": state.data.get("draft")}, schema=Approval)
    return {"approved": answer.approved, "comment": answer.comment}


async def draft(state: WorkflowState) -> dict[str, Any]:
    _count("draft")
    return {"draft": "v1"}


async def ask_a(state: WorkflowState) -> dict[str, Any]:
    _count("ask_a")
    return {"a": await ask({"branch": "a"})}


async def ask_b(state: WorkflowState) -> dict[str, Any]:
    _count("ask_b")
    return {"b": await ask({"branch": "b"})}


async def plain(state: WorkflowState) -> dict[str, Any]:
    _count("plain")
    return {"plain": True}


async def begin(state: WorkflowState) -> None:
    _count("begin")


async def join(state: WorkflowState) -> dict[str, Any]:
    _count("join")
    return {"joined": sorted(k for k in ("a", "b", "plain") if k in state.data)}


async def step(state: WorkflowState) -> dict[str, Any]:
    _count("step")
    return {"n": state.data.get("n", 0) + 1}


def approval_graph() -> Graph:
    g = Graph("approval")
    g.add_node("draft", draft)
    g.add_node("approve", approve)
    g.add_edge("draft", "approve")
    g.add_edge("approve", END)
    return g


def parallel_graph() -> Graph:
    g = Graph("parallel_asks")
    g.add_node("begin", begin)
    for name, fn in (("ask_a", ask_a), ("ask_b", ask_b), ("plain", plain)):
        g.add_node(name, fn)
        g.add_edge("begin", name)
        g.add_edge(name, "join")
    g.add_node("join", join)
    g.add_edge("join", END)
    return g


def counter_graph(limit: int = 5) -> Graph:
    g = Graph("counter")
    g.add_node("step", step)
    g.add_conditional_edge("step", "step", f"n < {limit}")
    g.add_edge("step", END)
    return g
