"""Subgraphs: a compiled graph used as a node of another.

A subgraph node maps some parent keys into the child's ``data`` (``inputs``), runs
the child graph to its end, and returns some child keys (``outputs``) as its update,
which the parent merges through its own reducers like any node's.

The child runs as a supervisor of its own inside the node's worker task (so a
cancelled parent cancels it), under the parent run: its checkpoints are kept under
the run id ``<parent run>/<node>:<activation>`` with the position's ``path``
(``node``, ``outer/inner`` nested), and its events go to the parent's stream with the
node named by its path (``review/check``). A parent that restarts after a crash
dispatches the subgraph node's activation again (same id): the child then goes on
from its own latest checkpoint, *inside* the subgraph, instead of starting over.

An ``ask`` inside surfaces on the parent run as an interrupt whose id carries the
path (``review:3/check:1:1``); answering it re-executes the subgraph node, which
restores the child and hands it the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from .compiled import CompiledGraph, CompiledSubgraph
from .errors import RunFailed, error_of_group
from .events import EventType, Publisher
from .interrupts import Interrupt
from .position import Activation, Position, WaitEntry
from .scoped import scoped
from .state import StateUpdate, WorkflowState, trusted
from .store.base import Checkpoint, Store

__all__ = ["ChildRun", "Spawn", "SubgraphHub", "carry_children", "child_run_id", "child_runs",
           "run_subgraph"]


class ChildRun(Protocol):
    """What runs a subgraph: a supervisor (made by the parent's, which passes
    ``Spawn`` down to its node actors, so that this module needs no supervisor)."""

    run_id: str
    waiting: dict[str, WaitEntry]

    def restore(self, checkpoint: Checkpoint, answers: dict[str, Any] | None = None
                ) -> None: ...

    async def run(self) -> WorkflowState: ...


#: Makes a child supervisor: (graph, state, hub, path) -> ChildRun.
Spawn = Callable[[CompiledGraph, WorkflowState, Publisher, str], ChildRun]


def child_run_id(run_id: str, node: str, activation: int) -> str:
    """Where a subgraph activation's checkpoints are kept, under the parent run."""
    return f"{run_id}/{node}:{activation}"


class SubgraphHub:
    """The parent's event stream as the child sees it: node names get the path.

    The child's own ``waiting`` events are dropped: the parent publishes the one that
    counts, with the path in the interrupt id."""

    __slots__ = ("_parent", "_prefix")

    def __init__(self, parent: Publisher, node: str) -> None:
        self._parent = parent
        self._prefix = node + "/"

    @property
    def next_seq(self) -> int:
        return self._parent.next_seq

    def publish(self, type: EventType, node: str | None = None, **data: Any) -> Any:
        if type is EventType.WAITING:
            return None
        return self._parent.publish(type, self._prefix + (node or ""), **data)

    def emit(self, type: EventType, node: str | None, keys: tuple[str, ...],
             *values: Any) -> None:
        if type is not EventType.WAITING:
            self._parent.emit(type, self._prefix + (node or ""), keys, *values)

    def publish_live(self, type: EventType, node: str | None = None, **data: Any) -> None:
        # Tokens and custom events of a subgraph's nodes carry the path too.
        self._parent.publish_live(type, self._prefix + (node or ""), **data)


async def run_subgraph(sub: CompiledSubgraph, state: WorkflowState, act: Activation, *,
                       node: str, path: str, hub: Publisher, store: Store | None,
                       spawn: Spawn) -> StateUpdate:
    """Run (or go on with) the child for ``act``; return the parent's update."""
    cid = child_run_id(state.run_id, node, act.id)
    prefix = f"{node}:{act.id}/"
    # Built from values the runtime made (no validation: this is per execution).
    start = trusted(WorkflowState, {
        "workflow_id": sub.graph.name, "run_id": cid, "timestamp": datetime.now(UTC),
        "iteration": 0, "data": sub.child_input(state.data), "errors": [], "warnings": [],
        "config": state.config})
    child = spawn(sub.graph, start, SubgraphHub(hub, node), f"{path}/{node}" if path else node)
    latest = await store.latest_checkpoint(cid) if store is not None else None
    if latest is not None and latest.position is not None and latest.position.idle:
        # The child had ended, the parent had not recorded it yet (a crash between).
        final = WorkflowState.model_validate(latest.state)
    else:
        if latest is not None:
            answers = {k[len(prefix):]: v for k, v in (act.answers or {}).items()
                       if k.startswith(prefix)}
            child.restore(latest, answers)
        final = await _run(child, node, sub.graph.name)
        if child.waiting:
            # One question at a time: answering it re-executes this node, and the
            # next one (if any) surfaces then.
            entry = next(iter(child.waiting.values()))
            raise Interrupt(prefix + entry.id, entry.payload, entry.schema)
    update = {parent: final.data[c] for c, parent in sub.outputs.items() if c in final.data}
    # The child's handled errors and warnings show on the parent, under the path.
    return StateUpdate(update, [f"{node}/{e}" for e in final.errors],
                       [f"{node}/{w}" for w in final.warnings])


async def _run(child: ChildRun, node: str, graph: str) -> WorkflowState:
    error: RunFailed | None = None
    try:
        # In a copy of this context: a context variable a child node sets (the child
        # executes its lone nodes in this very task, as its parent may this node)
        # stays in the subgraph, instead of reaching the parent's next nodes.
        return await scoped(child.run())
    except* Exception as group:  # noqa: BLE001 - one clear error, as a run gives
        exc = error_of_group(group, child.run_id)
        inner = f"{node}/{exc.node}" if isinstance(exc, RunFailed) and exc.node else node
        error = RunFailed(f"subgraph {node!r} ({graph}) failed: {exc}", node=inner,
                          attempt=getattr(exc, "attempt", None))
        error.__cause__ = exc
    raise error


async def child_runs(store: Store, run_id: str, graph: CompiledGraph) -> list[str]:
    """The run ids under which ``run_id``'s subgraph activations kept their steps,
    nested ones after their parent, in the order they were dispatched."""
    seen: dict[str, CompiledGraph] = {}
    # The entry point's activation is in no checkpoint (it is where every run starts).
    positions = [Position.start(graph.entry_point)]
    positions += [cp.position for cp in await store.list_checkpoints(run_id)
                  if cp.position is not None]
    for p in positions:
        acts = [*p.pending, *p.continuing, *(w.activation for w in p.waiting)]
        for a in sorted(acts, key=lambda a: a.id):
            node = graph.nodes.get(a.node)
            if node is not None and node.subgraph is not None:
                seen.setdefault(child_run_id(run_id, a.node, a.id), node.subgraph.graph)
    out: list[str] = []
    for cid, child in seen.items():
        if await store.latest_checkpoint(cid) is not None:
            out.append(cid)
            out += await child_runs(store, cid, child)
    return out


async def carry_children(store: Store, old_run: str, new_run: str, position: Position,
                         graph: CompiledGraph, until: datetime) -> None:
    """A fork of ``old_run`` (at ``position``, taken at ``until``) gets the subgraph
    steps in flight there: each subgraph's latest checkpoint from before ``until``,
    re-keyed under ``new_run``, so the fork goes on inside the subgraph as the original
    did, instead of running it again from its start."""
    acts = [*position.pending, *position.continuing, *(w.activation for w in position.waiting)]
    for a in acts:
        node = graph.nodes.get(a.node)
        if node is None or node.subgraph is None:
            continue
        old, new = child_run_id(old_run, a.node, a.id), child_run_id(new_run, a.node, a.id)
        before = [c for c in await store.list_checkpoints(old) if c.created_at <= until]
        if not before:
            continue
        cp = before[-1]
        state = {**cp.state, "run_id": new}
        await store.save_checkpoint(cp.model_copy(update={"run_id": new, "state": state}))
        if cp.position is not None:
            await carry_children(store, old, new, cp.position, node.subgraph.graph, until)
