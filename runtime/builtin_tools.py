"""Built-in utility tools that make graphs testable without code."""

from __future__ import annotations

import math
import random
from typing import Any

import anyio

from .registry import ToolRegistry, registry
from .state import WorkflowState

__all__ = ["register_builtins"]


async def delay(state: WorkflowState, config: dict[str, Any]) -> None:
    """Wait ``config.seconds`` (default 0): a finite, non-negative number."""
    seconds = float(config.get("seconds", 0))
    if not math.isfinite(seconds) or seconds < 0:
        # anyio.sleep(inf) would hold the run (and its slot) until it is cancelled.
        raise ValueError(f"delay: config.seconds must be a finite number >= 0, not {seconds}; "
                         "bound a wait with the run's timeout instead")
    await anyio.sleep(seconds)


async def set_values(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Write ``config.values`` (a dict) into ``data``."""
    values = config.get("values", {})
    if not isinstance(values, dict):
        raise TypeError("set: config.values must be an object of data keys to write")
    return dict(values)


class InjectedFault(RuntimeError):
    """Raised by the ``fail`` tool."""


async def fail(state: WorkflowState, config: dict[str, Any]) -> None:
    """Raise ``config.message`` (as ``config.error``: a builtin exception name, default
    RuntimeError), with probability ``config.probability`` (default 1)."""
    if random.random() >= float(config.get("probability", 1.0)):
        return
    import builtins

    kind = getattr(builtins, str(config.get("error", "RuntimeError")), None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = InjectedFault
    raise kind(str(config.get("message", "injected failure")))


async def ask_tool(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Pause for a person's answer (human in the loop) and write it to
    ``data[config.key]`` (default ``answer``). The question is ``config.question``;
    ``config.show`` lists data keys to include in what is asked."""
    from .interrupts import ask

    payload: dict[str, Any] = {"question": config.get("question", "continue?")}
    show = config.get("show") or []
    if show:
        payload["data"] = {k: state.data.get(k) for k in show}
    return {str(config.get("key", "answer")): await ask(payload)}


#: JSON schemas of the built-ins' configs, published by ``GET /api/v1/tools`` so that a
#: client (the Studio's editor) can offer a form instead of raw JSON, and checked against
#: each node's config when a client submits a graph (runtime.config_check). Each says what
#: its tool reads, no more and no less strictly.
CONFIG_SCHEMAS: dict[str, dict[str, Any]] = {
    "delay": {"type": "object", "properties": {
        "seconds": {"type": "number", "minimum": 0, "description": "how long to wait"}}},
    # ``values`` is optional: the tool writes nothing without it (a placeholder node).
    "set": {"type": "object", "properties": {
        "values": {"type": "object", "description": "the data keys to write, with their values"}}},
    "fail": {"type": "object", "properties": {
        "message": {"type": "string", "description": "the error's message"},
        "error": {"type": "string", "description": "a builtin exception name (RuntimeError)"},
        "probability": {"type": "number", "minimum": 0, "maximum": 1,
                        "description": "chance of failing (1)"}}},
    "ask": {"type": "object", "properties": {
        "question": {"type": "string", "description": "what the person is asked"},
        "key": {"type": "string", "description": "the data key of the answer (answer)"},
        "show": {"type": "array", "items": {"type": "string"},
                 "description": "data keys shown with the question"}}},
}


def register_builtins(target: ToolRegistry = registry) -> None:
    for fn, name, description in (
        (delay, "delay", "Wait config.seconds"),
        (set_values, "set", "Write config.values into data"),
        (fail, "fail", "Raise an error (fault testing)"),
        (ask_tool, "ask", "Wait for a person's answer"),
    ):
        target.add_tool(fn, name=name, description=description,
                        config_schema=CONFIG_SCHEMAS[name], replace=True)


register_builtins()
