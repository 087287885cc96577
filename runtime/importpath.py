"""Objects named by "module:qualname": how graphs, retry policies and interrupt schemas
refer to code in JSON and in checkpoints."""

from __future__ import annotations

import importlib
from typing import Any

from .errors import GraphSerializationError

__all__ = ["import_path", "load"]


def import_path(obj: Any, what: str) -> str:
    """``obj``'s "module:qualname", checked to import back to the very same object."""
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None)
    if not module or not qual or "<" in qual:
        raise GraphSerializationError(
            f"{what} is {obj!r}, which has no import path; use a module-level definition "
            "(or register a node function as a tool)"
        )
    if load(f"{module}:{qual}", what) is not obj:
        raise GraphSerializationError(f"{what}: {module}:{qual} does not import back")
    return f"{module}:{qual}"


def load(path: str, what: str) -> Any:
    """The object a "module:qualname" names."""
    module, _, qual = path.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise GraphSerializationError(f"{what}: cannot import {path!r}: {exc}") from exc
    return obj
