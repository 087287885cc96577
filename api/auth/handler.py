"""A user-supplied authentication handler (``--auth handler --auth-handler mod:fn``).

The handler gets an :class:`AuthRequest` and returns a :class:`Principal` (or a dict
with ``subject``, ``tenant``, ``scopes``), or None to refuse. It may be sync or async;
a sync one runs in a worker thread so it can block (a call to an identity service)
without stalling the server.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from runtime.errors import GraphSerializationError
from runtime.importpath import load

from .principal import Principal, parse_scopes

__all__ = ["AuthRequest", "HandlerAuth", "HandlerError"]


class HandlerError(Exception):
    """The handler is missing, broken, or returned something that is not a principal."""


@dataclass(frozen=True)
class AuthRequest:
    """What a handler sees of a request: method, path, lower-cased headers, client IP."""

    method: str
    path: str
    headers: Mapping[str, str]
    client: str | None


class HandlerAuth:
    """Calls the configured handler and turns its answer into a Principal."""

    def __init__(self, path: str) -> None:
        try:
            fn = load(path, "auth_handler")
        except GraphSerializationError as exc:
            raise HandlerError(str(exc)) from exc
        if not callable(fn):
            raise HandlerError(f"auth_handler {path!r} is not callable")
        self.path = path
        self._fn: Callable[[AuthRequest], Any] = fn

    async def verify(self, request: AuthRequest) -> Principal | None:
        if inspect.iscoroutinefunction(self._fn):
            answer = await self._fn(request)
        else:
            answer = await anyio.to_thread.run_sync(self._fn, request)
        return self._principal(answer)

    def _principal(self, answer: Any) -> Principal | None:
        if answer is None or isinstance(answer, Principal):
            return answer
        if isinstance(answer, Mapping) and isinstance(answer.get("tenant"), str):
            try:
                scopes = parse_scopes(answer.get("scopes"))
            except ValueError as exc:
                raise HandlerError(f"auth handler {self.path}: {exc}") from exc
            return Principal(subject=str(answer.get("subject") or "unknown"),
                             tenant=answer["tenant"], scopes=scopes, kind="handler")
        raise HandlerError(f"auth handler {self.path} returned {type(answer).__name__}; "
                           "return a Principal, a dict with subject/tenant/scopes, or None")
