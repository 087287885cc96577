"""The error tree drawn in runtime/errors.py names every error the runtime defines."""

from __future__ import annotations

import importlib
import pkgutil

import runtime
from runtime import errors
from runtime.errors import ActorflowError


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_actorflow_error_of_the_runtime_is_drawn_in_the_tree() -> None:
    for info in pkgutil.walk_packages(runtime.__path__, "runtime."):
        importlib.import_module(info.name)
    ours = {c for c in _all_subclasses(ActorflowError) if c.__module__.startswith("runtime")}
    assert len(ours) > 20
    tree = errors.__doc__ or ""
    missing = sorted(c.__name__ for c in ours
                     if not c.__name__.startswith("_") and f"── {c.__name__} " not in tree)
    assert missing == []
