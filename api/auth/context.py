"""The auth state of an app and of the request being handled, and the tenant checks.

Routes use four things from here: :func:`principal` (who calls), :func:`tenant` (whose
resources to list or stamp), and :func:`visible_run` / :func:`visible_graph`, which
raise the same 404 for another tenant's resource as for one that does not exist, so
that a tenant never learns another tenant's run exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from quart import Quart, current_app, g

from runtime import GraphNotFoundError, RunNotFoundError
from runtime.errors import ThreadNotFoundError
from runtime.importpath import load
from runtime.store import DEFAULT_TENANT, AccessStore, GraphRecord, RunRecord

from ..current import service
from ..errors import ApiError
from ..settings import Settings
from .gate import Gate
from .limits import RateLimiter
from .policy import Rule
from .revocation import Revocations
from .principal import LOCAL, Principal

__all__ = ["AUTH_KEY", "AuthState", "access_store", "declare", "principal", "readable", "stamp", "state",
           "tenant",
           "check_run", "visible_graph", "visible_key", "visible_run", "visible_thread"]

AUTH_KEY = "actorflow.auth"
T = TypeVar("T")


class AuthState:
    """An app's gate, rate limiters, open-WebSocket counts and resource rules."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = Gate(settings, lambda: service().rt().store)
        self.per_key = RateLimiter(settings.rate_per_key, settings.rate_burst)
        self.per_ip = RateLimiter(settings.rate_per_ip, settings.rate_burst)
        self.ws_open: dict[str, int] = {}
        #: Open feeds wait here for their key's revocation (api.auth.revocation).
        self.revocations = Revocations()
        #: Decisions for routes an embedding program adds to the app (see :func:`declare`).
        self.extra: dict[str, Rule] = {}
        self.rules: Any = load(settings.auth_rules, "auth_rules") if settings.auth_rules else None


def state(app: Quart | None = None) -> AuthState:
    return cast(AuthState, (app or current_app).extensions[AUTH_KEY])


def declare(app: Quart, endpoint: str, rule: Rule) -> None:
    """The authorization decision for a route added to ``app`` outside :mod:`.policy`."""
    state(app).extra[endpoint] = rule


def access_store() -> AccessStore:
    return cast(AccessStore, service().rt().store)


def principal() -> Principal:
    """The caller of this request (LOCAL when authentication is off)."""
    found = g.get("principal")
    return found if isinstance(found, Principal) else LOCAL


def tenant() -> str:
    return principal().tenant


def _denied(what: str) -> None:
    # Remembered for the audit log: the caller gets a plain 404, the log says why.
    g.audit_denied = what


def _can_read(kind: str, record: Any) -> bool:
    rules = state().rules
    check = getattr(rules, "can_read", None) if rules is not None else None
    return True if check is None else bool(check(principal(), kind, record))


def readable(kind: str, records: Sequence[T]) -> list[T]:
    """The records the resource rules (``auth_rules``' ``can_read``) let the caller see."""
    return [r for r in records if _can_read(kind, r)]


def stamp(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` after the resource rules' ``on_create`` (which may add metadata)."""
    rules = state().rules
    hook = getattr(rules, "on_create", None) if rules is not None else None
    if hook is None:
        return values
    changed = hook(principal(), kind, dict(values))
    return values if changed is None else dict(changed)


async def visible_run(run_id: str) -> RunRecord | None:
    """The run's record if the caller may see it, None if no store knows it; raises
    RunNotFoundError (404) for another tenant's run."""
    record = await service().rt().store.get_run(run_id)
    if record is not None and (record.tenant != tenant() or not _can_read("run", record)):
        _denied(f"run {run_id} belongs to another tenant or a rule hides it")
        raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)
    return record


async def check_run(run_id: str) -> None:
    """As :func:`visible_run`, for a caller that needs no record: a run this process
    started and still holds is checked against its tenant in memory, without a store
    read (under trio a round trip to the store's thread), unless a resource rule
    (``can_read``) must see the record."""
    held = service().held_tenant(run_id)
    rules = state().rules
    if held is None or getattr(rules, "can_read", None) is not None:
        await visible_run(run_id)
        return
    if held != tenant():
        _denied(f"run {run_id} belongs to another tenant or a rule hides it")
        raise RunNotFoundError(f"no run {run_id!r}", run_id=run_id)


async def visible_graph(key: str) -> GraphRecord | None:
    """The graph's record if the caller may see it, None if unknown; raises
    GraphNotFoundError (404, the same as for an unknown graph) for another tenant's."""
    record = await service().rt().graphs.record(key, tenant=tenant())
    if record is not None and (record.tenant != tenant() or not _can_read("graph", record)):
        _denied(f"graph {key} belongs to another tenant or a rule hides it")
        raise GraphNotFoundError(f"no graph with id or name {key!r}", key=key)
    if record is None and tenant() != DEFAULT_TENANT:
        # Graphs only registered in memory (not stored) belong to the default tenant.
        raise GraphNotFoundError(f"no graph with id or name {key!r}", key=key)
    return record


async def visible_thread(thread_id: str) -> None:
    """Raises ThreadNotFoundError (404, as for an unknown thread) for another tenant's
    thread. A thread not stored yet (a run may create it) is the default tenant's."""
    record = await service().rt().store.get_thread(thread_id)
    theirs = record.tenant != tenant() if record is not None else tenant() != DEFAULT_TENANT
    if theirs or (record is not None and not _can_read("thread", record)):
        if record is not None:
            _denied(f"thread {thread_id} belongs to another tenant or a rule hides it")
        raise ThreadNotFoundError(f"no thread {thread_id!r}; create it (POST "
                                  "/api/v1/threads) or start a run with that thread_id",
                                  thread_id=thread_id)


async def visible_key(key_id: str) -> None:
    record = await access_store().get_key(key_id)
    if record is None or record.tenant != tenant():
        if record is not None:
            _denied(f"key {key_id} belongs to another tenant")
        raise ApiError(404, "key_not_found", f"no API key with id {key_id!r}",
                       {"key_id": key_id})
