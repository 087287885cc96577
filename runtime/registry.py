"""The tool registry: named node functions, conditions, reducers and exceptions.

Graphs defined in JSON name their node functions (``"tool": "extract_functions"``),
their condition functions, their reducers and the exceptions a node retries on;
this registry resolves the names::

    from runtime import registry

    @registry.tool(name="extract_functions", description="Extract Python functions")
    async def extract_functions(state, config): ...
"""

from __future__ import annotations

import builtins
import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ToolNotFoundError

__all__ = ["ToolInfo", "ToolRegistry", "call_style", "registry"]

F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E", bound=type[BaseException])


def call_style(fn: Callable[..., Any]) -> tuple[bool, str | None]:
    """(is_async, name of the second parameter: 'config', 'ctx'/'context', or None).

    Decided once at registration or compile time so the hot path never inspects.
    """
    # A callable object counts as async when its __call__ is a coroutine function.
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        type(fn).__call__ if not inspect.isfunction(fn) else None
    )
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins without signatures take the state only
        return is_async, None
    second = None
    for p in params[1:]:
        if p.name in ("config", "ctx", "context"):
            second = p.name
            break
    return is_async, second


@dataclass(frozen=True)
class ToolInfo:
    """What discovery shows about a tool."""

    name: str
    description: str
    fn: Callable[..., Any] = field(repr=False, compare=False)
    is_async: bool
    parameters: list[str]
    doc: str | None
    config_schema: dict[str, Any] | None = None
    writes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "is_async": self.is_async,
            "parameters": self.parameters,
            "doc": self.doc,
            "config_schema": self.config_schema,
            "writes": list(self.writes),
        }


class ToolRegistry:
    """Named tools, conditions and reducers. ``registry`` is the process-wide default."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolInfo] = {}
        self._conditions: dict[str, Callable[..., Any]] = {}
        self._reducers: dict[str, Callable[[Any, Any], Any]] = {}
        self._exceptions: dict[str, type[BaseException]] = {}

    def tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        config_schema: dict[str, Any] | None = None,
        writes: tuple[str, ...] | list[str] = (),
        replace: bool = False,
    ) -> Callable[[F], F]:
        """Register a node function under ``name`` (default: the function's name).

        The function takes the state and optionally ``config`` (the node's JSON
        config) or ``ctx`` (a :class:`NodeContext`). ``writes`` declares the data
        keys it writes so ``compile()`` can find parallel write conflicts.
        """

        def decorate(fn: F) -> F:
            self.add_tool(
                fn, name=name, description=description, config_schema=config_schema,
                writes=tuple(writes), replace=replace,
            )
            return fn

        return decorate

    def add_tool(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        config_schema: dict[str, Any] | None = None,
        writes: tuple[str, ...] = (),
        replace: bool = False,
    ) -> ToolInfo:
        tool_name = name or fn.__name__
        if tool_name in self._tools and not replace and self._tools[tool_name].fn is not fn:
            raise ValueError(
                f"tool {tool_name!r} is already registered; pass replace=True to override it"
            )
        is_async, _ = call_style(fn)
        doc = inspect.getdoc(fn)
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        info = ToolInfo(
            name=tool_name,
            description=description or (doc.splitlines()[0] if doc else ""),
            fn=fn,
            is_async=is_async,
            parameters=params,
            doc=doc,
            config_schema=config_schema,
            writes=writes,
        )
        self._tools[tool_name] = info
        return info

    def condition(self, name: str | None = None) -> Callable[[F], F]:
        """Register a condition function ``(state) -> bool`` for conditional edges."""

        def decorate(fn: F) -> F:
            self._conditions[name or fn.__name__] = fn
            return fn

        return decorate

    def reducer(self, name: str | None = None) -> Callable[[F], F]:
        """Register a reducer ``(old, new) -> merged`` usable by name in JSON graphs."""

        def decorate(fn: F) -> F:
            self._reducers[name or fn.__name__] = fn
            return fn

        return decorate

    def exception(self, cls: E, *, name: str | None = None) -> E:
        """Register an exception class for ``retry_on`` in JSON graphs, by ``name``
        (default: the class name). Usable as a class decorator.

        JSON from untrusted clients (the HTTP API) may name only builtin exceptions,
        actorflow's errors and these: naming a class by import path would import code.
        """
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            raise TypeError(f"registry.exception takes an Exception subclass, not {cls!r}")
        self._exceptions[name or cls.__name__] = cls
        return cls

    @property
    def exceptions(self) -> dict[str, type[BaseException]]:
        return dict(self._exceptions)

    def get(self, name: str) -> ToolInfo:
        """The tool named ``name``; raises ToolNotFoundError with close matches."""
        try:
            return self._tools[name]
        except KeyError:
            raise ToolNotFoundError(name, self._close(name, self._tools)) from None

    def get_condition(self, name: str) -> Callable[..., Any]:
        try:
            return self._conditions[name]
        except KeyError:
            raise ToolNotFoundError(
                name, self._close(name, self._conditions), kind="condition"
            ) from None

    @property
    def reducers(self) -> dict[str, Callable[[Any, Any], Any]]:
        return dict(self._reducers)

    def list(self) -> builtins.list[ToolInfo]:
        """Every registered tool, sorted by name."""
        return [self._tools[k] for k in sorted(self._tools)]

    def conditions(self) -> builtins.list[str]:
        return sorted(self._conditions)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    @staticmethod
    def _close(name: str, names: dict[str, Any]) -> builtins.list[str]:
        return difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)


registry = ToolRegistry()
