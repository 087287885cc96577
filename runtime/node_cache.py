"""Node caching: an expensive node's result reused for the same input.

A node declared with ``cache=CachePolicy(ttl=..., key=...)`` is looked up before it
runs: a hit skips it and its cached update is written as if it had run (its
``node_completed`` event and log say ``cached: true``). The key defaults to a hash of
the graph's and node's names, the node's config, a fingerprint of the node's code and
the data it sees; ``key`` (a function of the state, or in JSON its import path)
replaces the data part, e.g. to ignore keys that don't change the result. The code
fingerprint covers the node function's own bytecode and constants (not the functions
it calls): a deploy that changes the node misses the entries the old code wrote.

Entries live in the run store's key-value cache (namespace ``node``), so every process
on the same database shares them, with a bounded in-memory LRU in front. ``ttl``
seconds after it was written an entry is expired (never served, overwritten by the
next miss); None keeps it until replaced. Only successful results are cached (not
failures, not interrupts).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from .errors import GraphError
from .state import StateUpdate, WorkflowState
from .store.base import Store

__all__ = ["CachePolicy", "NodeCache", "code_fingerprint"]

NAMESPACE = "node"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """``ttl``: seconds an entry is served (None: until replaced). ``key``: a function
    of the node's state returning what identifies its input (JSON-able), or its
    "module:qualname"; by default the whole data the node sees."""

    ttl: float | None = None
    key: Callable[[WorkflowState], Any] | str | None = None
    #: Set when the graph compiles: the node's :func:`code_fingerprint`, part of the key.
    code: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.ttl is not None and not self.ttl > 0:
            raise GraphError(f"CachePolicy ttl must be a positive number of seconds or None, "
                             f"got {self.ttl!r}")

    def key_fn(self) -> Callable[[WorkflowState], Any] | None:
        if isinstance(self.key, str):
            from .importpath import load
            return load(self.key, "cache key")   # type: ignore[no-any-return]
        return self.key


class NodeCache:
    """The runtime's node cache: memory LRU in front of the store (see the module doc).

    ``hits`` and ``misses`` count lookups (the API's ``/metrics`` reports them);
    ``clock`` (epoch seconds) is replaceable for tests of expiry.
    """

    def __init__(self, store: Store | None, maxsize: int = 1024,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.maxsize = maxsize
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[str, dict[str, Any]] = OrderedDict()

    @staticmethod
    def key(graph: str, node: str, config: dict[str, Any], state: WorkflowState,
            policy: CachePolicy) -> str:
        fn = policy.key_fn()
        material = fn(state) if fn is not None else state.data
        text = json.dumps([graph, node, config, policy.code, material], sort_keys=True,
                          separators=(",", ":"), default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    async def get(self, key: str) -> StateUpdate | None:
        now = self.clock()
        entry = self._memory.get(key)
        if entry is not None and _fresh(entry, now):
            self._memory.move_to_end(key)
        else:
            entry = None
            if self.store is not None:
                raw = await self.store.cache_get(NAMESPACE, key)
                if isinstance(raw, dict) and _fresh(raw, now):
                    entry = raw
                    self._remember(key, raw)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        return StateUpdate(dict(entry["data"]), list(entry["errors"]),
                           list(entry["warnings"]))

    def put(self, key: str, update: StateUpdate, ttl: float | None) -> None:
        entry = {"data": update.data, "errors": list(update.errors),
                 "warnings": list(update.warnings),
                 "expires_at": None if ttl is None else self.clock() + ttl}
        self._remember(key, entry)
        if self.store is not None:
            self.store.cache_set(NAMESPACE, key, entry)

    def _remember(self, key: str, entry: dict[str, Any]) -> None:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > self.maxsize:
            self._memory.popitem(last=False)


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """A hash of what ``fn`` runs: its module, name, bytecode, names and constants (nested
    functions' too), the same in every process (no ids, no hash-ordered sets)."""
    parts: list[Any] = []
    target: Any = inspect.unwrap(fn)
    while isinstance(target, functools.partial):
        parts.append(_stable(target.args) + _stable(sorted(target.keywords.items())))
        target = inspect.unwrap(target.func)
    code = getattr(target, "__code__", None)
    if code is None:   # a callable object: its class's __call__
        code = getattr(type(target).__dict__.get("__call__"), "__code__", None)
    name = getattr(target, "__qualname__", type(target).__qualname__)
    parts += [getattr(target, "__module__", ""), name,
              _code(code) if isinstance(code, CodeType) else ""]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _code(code: CodeType) -> str:
    consts = [_code(c) if isinstance(c, CodeType) else _stable(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{code.co_names}|{consts}"


def _stable(value: Any) -> str:
    if isinstance(value, (frozenset, set)):
        return "{" + ",".join(sorted(_stable(v) for v in value)) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_stable(v) for v in value) + ")"
    return repr(value)


def _fresh(entry: dict[str, Any], now: float) -> bool:
    expires = entry.get("expires_at")
    return expires is None or now < float(expires)
