"""Per-node retry policy: exponential backoff with jitter."""

from __future__ import annotations

import builtins
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .importpath import load

__all__ = ["SAFE_EXCEPTIONS", "RetryPolicy", "known_exception"]

Exceptions = Mapping[str, type[BaseException]]

#: Exception names ``retry_on`` takes from any JSON, untrusted included: Python's
#: builtin exceptions and actorflow's own errors, none of which needs an import.
SAFE_EXCEPTIONS: Exceptions = {
    name: obj for module in (builtins, errors) for name, obj in vars(module).items()
    if isinstance(obj, type) and issubclass(obj, Exception) and not name.startswith("_")
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing node is tried again.

    ``max_attempts`` counts the first try (1 = no retry). The delay before
    attempt ``n+1`` is ``initial_delay * backoff**(n-1)``, capped at ``max_delay``;
    with ``jitter`` it is drawn uniformly from ``[delay/2, delay]`` so that
    branches failing together do not retry in lockstep. Only exceptions that
    are instances of ``retry_on`` are retried.
    """

    max_attempts: int = 3
    initial_delay: float = 0.1
    backoff: float = 2.0
    max_delay: float = 10.0
    jitter: bool = True
    retry_on: tuple[type[BaseException], ...] = field(default=(Exception,))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.backoff < 1:
            raise ValueError("RetryPolicy delays must be >= 0 and backoff >= 1")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether attempt ``attempt`` failing with ``exc`` is tried again. A group (what
        a task group in the node raises, on anyio) is retried when each error in it
        is one ``retry_on`` names, as ``except*`` would match it."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(exc, self.retry_on):
            return True
        return isinstance(exc, BaseExceptionGroup) and exc.split(self.retry_on)[1] is None

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.backoff ** (attempt - 1))
        return random.uniform(base / 2, base) if self.jitter else base

    def to_dict(self, registered: Exceptions | None = None) -> dict[str, Any]:
        """The JSON form; exceptions by name (``registered``: the registry's names)."""
        return {
            "max_attempts": self.max_attempts,
            "initial_delay": self.initial_delay,
            "backoff": self.backoff,
            "max_delay": self.max_delay,
            "jitter": self.jitter,
            "retry_on": [_name(t, registered or {}) for t in self.retry_on],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], registered: Exceptions | None = None, *,
                  trusted: bool = True) -> RetryPolicy:
        """From the JSON form. ``retry_on`` names are looked up in :data:`SAFE_EXCEPTIONS`,
        then ``registered``; a "module:qualname" is imported only when ``trusted``."""
        names = d.get("retry_on")
        retry_on = tuple(_resolve(n, registered or {}, trusted) for n in names
                         ) if names else (Exception,)
        return cls(
            max_attempts=int(d.get("max_attempts", 3)),
            initial_delay=float(d.get("initial_delay", 0.1)),
            backoff=float(d.get("backoff", 2.0)),
            max_delay=float(d.get("max_delay", 10.0)),
            jitter=bool(d.get("jitter", True)),
            retry_on=retry_on,
        )


def known_exception(name: str, registered: Exceptions) -> type[BaseException] | None:
    """The exception ``name`` names without importing anything, if any."""
    return SAFE_EXCEPTIONS.get(name) or registered.get(name)


def _name(t: type[BaseException], registered: Exceptions) -> str:
    if SAFE_EXCEPTIONS.get(t.__name__) is t:
        return t.__name__
    for name, cls in registered.items():
        if cls is t:
            return name
    return f"{t.__module__}:{t.__qualname__}"


def _resolve(name: str, registered: Exceptions, trusted: bool) -> type[BaseException]:
    obj: Any = known_exception(name, registered)
    if obj is None and trusted and ":" in name:
        obj = load(name, "retry_on")
    if not (isinstance(obj, type) and issubclass(obj, BaseException)):
        raise errors.GraphSerializationError(
            f"retry_on: {name!r} is not a known exception type; use a builtin exception, an "
            "actorflow error or a name registered with registry.exception()")
    return obj
