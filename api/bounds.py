"""Bounds on what one request may ask of the server, each refusal naming its limit.

A sub-megabyte graph could otherwise hold a million edges, a condition nested ten
thousand deep (the parser's recursion), or ask ``max_steps: 10**12`` and loop until
the disk is full. Each bound is a setting (:class:`api.settings.Settings`); refusals
are 400 (the request is too big) or 429 (the tenant has too much going on), with
``details.limit`` naming the setting to raise.
"""

from __future__ import annotations

import ast
import json

from runtime import Runtime
from runtime.payload_bounds import RunBounds

from .errors import ApiError
from .schemas import GraphCreate, RunCreate
from .settings import Settings
from .tenant_counts import SharedCounts

__all__ = ["check_graph", "check_run", "check_tenant_runs", "run_bounds", "run_timeout"]


def _too_big(limit: str, value: int | float, what: str, settings: Settings) -> ApiError:
    allowed = getattr(settings, limit)
    return ApiError(400, "limit_exceeded", f"{what} is {value:g}, above the limit {limit}="
                    f"{allowed:g} (ACTORFLOW_{limit.upper()})",
                    {"limit": limit, "value": value, "allowed": allowed})


def _depth(node: ast.AST) -> int:
    children = list(ast.iter_child_nodes(node))
    return 1 + max((_depth(c) for c in children), default=0)


def check_graph(body: GraphCreate, settings: Settings) -> None:
    """Refuse a graph with too many nodes or edges or an oversized condition."""
    if len(body.nodes) > settings.max_graph_nodes:
        raise _too_big("max_graph_nodes", len(body.nodes), "the graph's node count", settings)
    if len(body.edges) > settings.max_graph_edges:
        raise _too_big("max_graph_edges", len(body.edges), "the graph's edge count", settings)
    for edge in body.edges:
        text = edge.condition
        if not text:
            continue
        if len(text) > settings.max_expression_chars:
            raise _too_big("max_expression_chars", len(text),
                           f"the condition of the edge from {edge.source!r} (characters)",
                           settings)
        # Measured by counting brackets first: parsing a deeply nested text is itself
        # the expensive (recursive) step this bound exists to avoid.
        nesting = _bracket_depth(text)
        if nesting <= settings.max_expression_depth:
            try:
                nesting = max(nesting, _depth(ast.parse(text, mode="eval")) // 2)
            except (SyntaxError, RecursionError, ValueError):
                continue  # the graph's own validation names the syntax error
        if nesting > settings.max_expression_depth:
            raise _too_big("max_expression_depth", nesting,
                           f"the nesting depth of the condition of the edge from "
                           f"{edge.source!r}", settings)


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return deepest


def check_run(body: RunCreate, settings: Settings) -> None:
    size = len(json.dumps(body.initial_state, separators=(",", ":"), default=str).encode())
    if size > settings.max_initial_state_bytes:
        raise _too_big("max_initial_state_bytes", size, "the initial state (bytes of JSON)",
                       settings)
    if body.max_steps is not None and body.max_steps > settings.max_steps_cap:
        raise _too_big("max_steps_cap", body.max_steps, "max_steps", settings)


def run_bounds(settings: Settings) -> RunBounds:
    """The server's size bounds for a run (runtime.payload_bounds): its state's size and
    its nodes' event payloads (0 in a setting: unbounded)."""
    return RunBounds(settings.max_state_bytes or None, settings.max_event_bytes or None)


def run_timeout(body: RunCreate, settings: Settings) -> float | None:
    """The run's wall-time bound: its own, else the server's default."""
    if body.timeout is not None:
        return body.timeout
    return settings.default_run_timeout or None


#: Which bound a start is checked against, per status counted.
_TENANT_BOUNDS = (("running", "max_running_runs_per_tenant", "running"),
                  ("pending", "max_queued_runs_per_tenant", "queued (pending, not started)"))


async def check_tenant_runs(rt: Runtime, tenant: str, settings: Settings,
                            shared: SharedCounts | None = None) -> None:
    """429 when the tenant already has ``max_running_runs_per_tenant`` runs running or
    ``max_queued_runs_per_tenant`` runs queued.

    Counted in the database in one query, so the bounds hold across processes sharing
    it (two starts racing may both pass: they bound load, they are not exact quotas).
    With ``shared`` (the app's), the starts that arrive while a query of the tenant is
    in flight share its answer (see :mod:`api.tenant_counts`)."""
    bounds = [(status, limit, what) for status, limit, what in _TENANT_BOUNDS
              if getattr(settings, limit)]
    if not bounds:
        return

    def refuse(counts: dict[str, int]) -> None:
        _refuse(tenant, bounds, counts, settings)

    statuses = tuple(b[0] for b in bounds)
    if shared is not None:
        await shared.admit(rt, tenant, statuses, refuse)
    else:
        refuse(await rt.store.count_runs_by_status(list(statuses), tenant=tenant))


def _refuse(tenant: str, bounds: list[tuple[str, str, str]], counts: dict[str, int],
            settings: Settings) -> None:
    for status, limit, what in bounds:
        allowed = getattr(settings, limit)
        if counts[status] >= allowed:
            raise ApiError(
                429, "too_many_runs",
                f"tenant {tenant!r} has {counts[status]} runs {what}, the limit {limit}="
                f"{allowed} (ACTORFLOW_{limit.upper()}); retry after some finish, or ask "
                "the operator to raise it", {"limit": limit, "allowed": allowed,
                                             "value": counts[status], "status": status},
                headers={"Retry-After": "5"})
