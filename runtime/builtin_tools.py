"""Built-in utility tools that make graphs testable without code."""

from __future__ import annotations

import random
from typing import Any

import anyio

from .registry import ToolRegistry, registry
from .state import WorkflowState

__all__ = ["register_builtins"]


async def delay(state: WorkflowState, config: dict[str, Any]) -> None:
    """Wait ``config.seconds`` (default 0)."""
    await anyio.sleep(float(config.get("seconds", 0)))


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


def register_builtins(target: ToolRegistry = registry) -> None:
    target.add_tool(delay, name="delay", description="Wait config.seconds", replace=True)
    target.add_tool(set_values, name="set", description="Write config.values into data",
                    replace=True)
    target.add_tool(fail, name="fail", description="Raise an error (fault testing)",
                    replace=True)
    target.add_tool(ask_tool, name="ask", description="Wait for a person's answer",
                    replace=True)


register_builtins()
