"""Authentication handlers and resource rules named by tests (``_auth_handlers:...``)."""

from __future__ import annotations

from typing import Any

from api.auth import Principal
from api.auth.handler import AuthRequest


def by_team_header(request: AuthRequest) -> dict[str, Any] | None:
    """A sync handler (it could call an identity service): the X-Team header decides."""
    if request.headers.get("x-team") == "red":
        return {"subject": "alice", "tenant": "red", "scopes": ["runs:read", "graphs:read"]}
    return None


async def by_token_async(request: AuthRequest) -> Principal | None:
    """An async handler returning a Principal."""
    if request.headers.get("authorization") == "Token blue-secret":
        return Principal(subject="bob", tenant="blue", scopes=frozenset({"runs:read"}),
                         kind="handler")
    return None


def broken(request: AuthRequest) -> Any:
    raise RuntimeError("identity service down: token=handler-internal-detail")


class OwnerRules:
    """Resource rules: stamp the creator on each run; a run is read by its creator only."""

    @staticmethod
    def on_create(principal: Principal, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        return {**values, "owner": principal.subject} if kind == "run" else values

    @staticmethod
    def can_read(principal: Principal, kind: str, record: Any) -> bool:
        if kind != "run":
            return True
        owner = (record.initial_state.get("config") or {}).get("owner")
        return owner in (None, principal.subject)


owner_rules = OwnerRules()
