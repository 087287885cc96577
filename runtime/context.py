"""What a node sees besides the state: its run, its attempt, its config, its item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .events import EventType
from .interrupts import Interrupt, schema_path

if TYPE_CHECKING:
    from .events import Publisher

__all__ = ["NodeContext"]


class NodeContext:
    """Passed to node functions that take a ``ctx`` (or ``context``) parameter.

    Attributes: ``run_id``, ``node``, ``attempt`` (1-based), ``config`` (the
    node's config), ``item`` and ``index`` (for a node run by a map edge).
    """

    __slots__ = (
        "_activation",
        "_answers",
        "_asked",
        "_calls",
        "_hub",
        "attempt",
        "config",
        "index",
        "item",
        "node",
        "run_id",
    )

    def __init__(self, run_id: str, node: str, attempt: int, config: dict[str, Any],
                 item: Any, index: int | None, hub: Publisher, activation: int = 0,
                 answers: dict[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.node = node
        self.attempt = attempt
        self.config = config
        self.item = item
        self.index = index
        self._hub = hub
        self._activation = activation
        self._answers = answers if answers is not None else {}
        self._asked = 0
        self._calls = 0

    async def ask(self, payload: Any = None, *, schema: type[BaseModel] | None = None) -> Any:
        """Pause this branch until someone answers (see ``runtime.ask``)."""
        # Stable across re-executions and restarts: the node, its activation (whose
        # id is checkpointed) and the how-manieth question of this execution.
        self._asked += 1
        interrupt_id = f"{self.node}:{self._activation}:{self._asked}"
        if interrupt_id in self._answers:
            answer = self._answers[interrupt_id]
            return schema.model_validate(answer) if schema is not None else answer
        raise Interrupt(interrupt_id, payload, schema_path(schema))

    def emit(self, kind: str, payload: Any = None) -> None:
        """Publish a live ``custom`` event (progress, partial results): subscribers and
        WebSocket clients in ``custom`` mode get it now; it is not stored or replayed
        (return what must last as the node's update)."""
        self._hub.publish_live(EventType.CUSTOM, self.node, kind=kind, payload=payload)

    def new_call(self) -> str:
        """An id for one model call of this execution, carried by its ``token`` events:
        the node, its activation, the attempt and the how-manieth call (a retried
        attempt streams under a new id, so a reader can drop a cut-off one)."""
        self._calls += 1
        return f"{self.node}:{self._activation}:{self.attempt}:{self._calls}"

    def token(self, call_id: str, text: str, index: int) -> None:
        """Publish a live ``token`` event: the ``index``-th piece of call ``call_id``'s
        output as the model writes it (not stored; the node's final update is)."""
        self._hub.publish_live(EventType.TOKEN, self.node, call_id=call_id, text=text,
                               index=index)

    def log(self, message: str, **fields: Any) -> None:
        """Publish a ``log`` event in the run's event stream (and its WebSocket feed)."""
        self._hub.publish(EventType.LOG, self.node, message=message, **fields)
