"""Every route's authorization decision, in one table.

Each endpoint (``blueprint.function``) maps to a :class:`Rule`: the scope it needs (or
public), and which path argument names a run, graph or key that the caller's tenant
must own. The middleware applies the table before any handler runs; an endpoint
missing from it is refused (fail closed), and a test walks every route of the app
and fails on one without a decision. Whole blueprints of static pages (the docs, the
Studio) are public: they hold no data, and the API they call is guarded.
"""

from __future__ import annotations

from dataclasses import dataclass

from .principal import Scope

__all__ = ["PUBLIC", "PUBLIC_BLUEPRINTS", "Rule", "decision", "policy"]


@dataclass(frozen=True)
class Rule:
    """``scope``: needed scope ("" any authenticated caller; None public). ``run``,
    ``graph``, ``key``, ``thread``: the path argument naming a resource of the caller's tenant.
    ``in_route``: the route checks the resource itself (the WebSocket closes with 4404)."""

    scope: str | None
    run: str | None = None
    graph: str | None = None
    key: str | None = None
    thread: str | None = None
    in_route: bool = False

    @property
    def public(self) -> bool:
        return self.scope is None


PUBLIC = Rule(None)
_RUN = "run_id"
_THREAD = "thread_id"

POLICY: dict[str, Rule] = {
    # operations and docs
    "openapi": PUBLIC,
    "system.health": PUBLIC,
    "system.prometheus": Rule(Scope.ADMIN),
    "system.tools": Rule(Scope.GRAPHS_READ),
    # graphs
    "graphs.create_graph": Rule(Scope.GRAPHS_WRITE),
    "graphs.get_graph": Rule(Scope.GRAPHS_READ, graph="graph_id"),
    "graphs.list_graphs": Rule(Scope.GRAPHS_READ),
    "graphs.graph_mermaid": Rule(Scope.GRAPHS_READ, graph="graph_id"),
    "validate.validate_graph": Rule(Scope.GRAPHS_READ),  # compiles, stores nothing
    # runs
    "runs.start_run": Rule(Scope.RUNS_WRITE),  # the graph's tenant is checked by the service
    "runs.run_state": Rule(Scope.RUNS_READ, run=_RUN),
    "runs.list_runs": Rule(Scope.RUNS_READ),
    "runs.get_run": Rule(Scope.RUNS_READ, run=_RUN),
    "runs.cancel_run": Rule(Scope.RUNS_WRITE, run=_RUN),
    "runs.wait_run": Rule(Scope.RUNS_READ, run=_RUN),
    "runs.run_history": Rule(Scope.RUNS_READ, run=_RUN),
    # human in the loop and time travel
    "hitl.interrupts": Rule(Scope.RUNS_READ, run=_RUN),
    "hitl.resume": Rule(Scope.RUNS_RESUME, run=_RUN),
    "hitl.state_at": Rule(Scope.RUNS_READ, run=_RUN),
    "hitl.edit_state": Rule(Scope.RUNS_WRITE, run=_RUN),
    "hitl.fork": Rule(Scope.RUNS_WRITE, run=_RUN),
    "hitl.replay": Rule(Scope.RUNS_WRITE, run=_RUN),
    "runs.run_subgraphs": Rule(Scope.RUNS_READ, run=_RUN),
    # threads (conversations over many runs)
    "threads.create_thread": Rule(Scope.RUNS_WRITE),
    "threads.list_threads": Rule(Scope.RUNS_READ),
    "threads.get_thread": Rule(Scope.RUNS_READ, thread=_THREAD),
    "threads.delete_thread": Rule(Scope.RUNS_WRITE, thread=_THREAD),
    "threads.thread_state": Rule(Scope.RUNS_READ, thread=_THREAD),
    "threads.start_thread_run": Rule(Scope.RUNS_WRITE, thread=_THREAD),
    "threads.thread_runs": Rule(Scope.RUNS_READ, thread=_THREAD),
    "threads.thread_history": Rule(Scope.RUNS_READ, thread=_THREAD),
    "threads.copy_thread": Rule(Scope.RUNS_WRITE, thread=_THREAD),
    # the live feed
    "ws.run_feed": Rule(Scope.RUNS_READ, run=_RUN, in_route=True),
    # access: keys, tickets, audit
    "access.whoami": Rule(""),
    "access.ws_ticket": Rule(Scope.RUNS_READ),
    "access.create_key": Rule(Scope.ADMIN),
    "access.list_keys": Rule(Scope.ADMIN),
    "access.revoke_key": Rule(Scope.ADMIN, key="key_id"),
    "access.rotate_key": Rule(Scope.ADMIN, key="key_id"),
    "access.audit": Rule(Scope.ADMIN),
}

#: Blueprints of static pages, public as a whole.
PUBLIC_BLUEPRINTS = frozenset({"docs", "studio"})


def decision(endpoint: str | None) -> Rule | None:
    """The rule for ``endpoint``, or None when it has no decision (refuse it)."""
    if endpoint is None:
        return None
    if endpoint in POLICY:
        return POLICY[endpoint]
    blueprint = endpoint.partition(".")[0] if "." in endpoint else None
    return PUBLIC if blueprint in PUBLIC_BLUEPRINTS else None


def policy() -> dict[str, Rule]:
    """A copy of the table (for tests and docs)."""
    return dict(POLICY)
