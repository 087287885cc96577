"""Functions a model may call: their schemas for the provider, and calling them.

::

    tools = Toolbox()

    @tools.register(description="Evaluate an arithmetic expression")
    def calculator(expression: str) -> float: ...

    request = LLMRequest(messages=..., tools=tools.specs())
    response = await provider.complete(request)
    results = [await tools.call(c) for c in response.tool_calls]   # tool messages

A tool's arguments schema is the JSON schema of its parameters (their annotations and
defaults, through pydantic); a call's arguments are validated against it before the
function runs, and any failure becomes the tool message's content (the model reads
it and can correct itself) rather than an exception.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ValidationError, create_model

from .base import ToolCall, ToolSpec

__all__ = ["Tool", "Toolbox"]


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    fn: Callable[..., Any]
    args: type[BaseModel]


class Toolbox:
    """Registered tools, by name."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}

    def register(self, fn: Callable[..., Any] | None = None, *, name: str | None = None,
                 description: str | None = None) -> Any:
        """Register ``fn`` (usable as ``@register`` or ``@register(name=...)``)."""
        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            fields: dict[str, Any] = {}
            for p in inspect.signature(f).parameters.values():
                annotation = p.annotation if p.annotation is not inspect.Parameter.empty \
                    else Any
                default = p.default if p.default is not inspect.Parameter.empty else ...
                fields[p.name] = (annotation, default)
            tool_name = name or f.__name__
            args = create_model(f"{tool_name}_arguments", **fields)
            schema = args.model_json_schema()
            schema.pop("title", None)
            for prop in schema.get("properties", {}).values():
                prop.pop("title", None)
            doc = description or inspect.getdoc(f) or ""
            self.tools[tool_name] = Tool(ToolSpec(name=tool_name, description=doc,
                                                  parameters=schema), f, args)
            return f

        return add(fn) if fn is not None else add

    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(t.spec for t in self.tools.values())

    async def call(self, call: ToolCall) -> dict[str, Any]:
        """Run ``call``; its result (or what went wrong) as a ``tool`` message."""
        tool = self.tools.get(call.name)
        if tool is None:
            content = f"error: no tool {call.name!r} (tools: {', '.join(self.tools)})"
        else:
            try:
                args = tool.args.model_validate(call.arguments).model_dump()
                if inspect.iscoroutinefunction(tool.fn):
                    result = await tool.fn(**args)
                else:
                    result = await anyio.to_thread.run_sync(lambda: tool.fn(**args))
                content = result if isinstance(result, str) else json.dumps(result,
                                                                             default=str)
            except ValidationError as exc:
                content = f"error: bad arguments for {call.name}: {exc.errors()[0]['msg']}"
            except Exception as exc:  # noqa: BLE001 - the model reads the error and goes on
                content = f"error: {type(exc).__name__}: {exc}"
        return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content}
