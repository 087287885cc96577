"""Code named in a graph's JSON, resolved in this one module.

A graph's JSON form names code in these fields, and only these:

=============================  ==============================================================
``nodes[].fn``                 "module:qualname", imported: trusted JSON only
``state_schema``               "module:qualname", imported: trusted JSON only
``nodes[].retry.retry_on``     exception names: a builtin exception (``"TimeoutError"``),
                               an actorflow error (``"NodeTimeoutError"``) or a name
                               registered with ``registry.exception()``; "module:qualname"
                               is imported for trusted JSON only
``nodes[].tool``               a registered tool name, never imported
``edges[].condition_fn``       a registered condition name, never imported
``reducers``                   a built-in or registered reducer name, never imported
=============================  ==============================================================

Interrupt schemas (``ask(schema=Model)``) are "module:qualname" too, but only ever in
checkpoints the runtime writes itself, never in a graph's JSON.

JSON is *untrusted* unless its reader says otherwise (``Graph.from_json(...,
trusted=True)``): importing a module runs its code, so a "module:qualname" from
untrusted JSON is refused, listed with every other problem, before anything is
imported. The HTTP API reads request bodies as untrusted (unless the operator sets
``ACTORFLOW_ALLOW_IMPORTS``); the runtime reads its own store as trusted, since what is
there was written by trusted code or checked at the API's door.
"""

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
    """The object a "module:qualname" names (imports the module: trusted input only)."""
    module, _, qual = path.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise GraphSerializationError(f"{what}: cannot import {path!r}: {exc}") from exc
    return obj
