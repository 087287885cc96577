"""Who is calling: a :class:`Principal` (subject, tenant, scopes), and the scope names."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.store import DEFAULT_TENANT

__all__ = ["ALL_SCOPES", "LOCAL", "Principal", "Scope", "parse_scopes"]


class Scope:
    """The scopes an API key, token or handler may grant (one per kind of action)."""

    GRAPHS_READ = "graphs:read"
    GRAPHS_WRITE = "graphs:write"
    RUNS_READ = "runs:read"
    RUNS_WRITE = "runs:write"       # start, cancel, fork, replay, edit state
    RUNS_RESUME = "runs:resume"     # answer a waiting run
    ADMIN = "admin"                 # keys, audit log, metrics (of its own tenant)


ALL_SCOPES: frozenset[str] = frozenset(
    v for k, v in vars(Scope).items() if not k.startswith("_"))


def parse_scopes(raw: str | list[str] | tuple[str, ...] | None) -> frozenset[str]:
    """Scopes from ``"a b"``, ``"a,b"`` or a list; ``*`` means every scope.

    Raises ValueError naming an unknown scope (a typo must not silently grant nothing).
    """
    if raw is None:
        return frozenset()
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    if "*" in items:
        return ALL_SCOPES
    unknown = sorted(set(items) - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; the scopes are "
                         f"{', '.join(sorted(ALL_SCOPES))} (or * for all)")
    return frozenset(items)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``kind`` says how: key, jwt, handler, ticket or local."""

    subject: str
    tenant: str = DEFAULT_TENANT
    scopes: frozenset[str] = field(default_factory=frozenset)
    kind: str = "key"
    key_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return self.key_id or self.subject


#: The caller when authentication is off (loopback only): the default tenant, every scope.
LOCAL = Principal(subject="local", scopes=ALL_SCOPES, kind="local")
