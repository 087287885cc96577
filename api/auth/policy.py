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


def _of(resource: str, arg: str, scopes: dict[str, str]) -> dict[str, Rule]:
    """Rules of endpoints acting on one ``resource`` ("run", "thread") of the caller's
    tenant, named by the path argument ``arg``: endpoint -> the scope it needs."""
    return {endpoint: Rule(scope, run=arg) if resource == "run" else Rule(scope, thread=arg)
            for endpoint, scope in scopes.items()}


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
    "runs.list_runs": Rule(Scope.RUNS_READ),
    # one run: its views, human in the loop and time travel
    **_of("run", "run_id", {
        "runs.run_state": Scope.RUNS_READ, "runs.get_run": Scope.RUNS_READ,
        "runs.cancel_run": Scope.RUNS_WRITE, "runs.wait_run": Scope.RUNS_READ,
        "runs.run_history": Scope.RUNS_READ, "runs.run_subgraphs": Scope.RUNS_READ,
        "hitl.interrupts": Scope.RUNS_READ, "hitl.resume": Scope.RUNS_RESUME,
        "hitl.state_at": Scope.RUNS_READ, "hitl.edit_state": Scope.RUNS_WRITE,
        "hitl.fork": Scope.RUNS_WRITE, "hitl.replay": Scope.RUNS_WRITE}),
    # threads (conversations over many runs)
    "threads.create_thread": Rule(Scope.RUNS_WRITE),
    "threads.list_threads": Rule(Scope.RUNS_READ),
    **_of("thread", "thread_id", {
        "threads.get_thread": Scope.RUNS_READ, "threads.delete_thread": Scope.RUNS_WRITE,
        "threads.thread_state": Scope.RUNS_READ, "threads.start_thread_run": Scope.RUNS_WRITE,
        "threads.thread_runs": Scope.RUNS_READ, "threads.thread_history": Scope.RUNS_READ,
        "threads.copy_thread": Scope.RUNS_WRITE}),
    # the live feed
    "ws.run_feed": Rule(Scope.RUNS_READ, run="run_id", in_route=True),
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
