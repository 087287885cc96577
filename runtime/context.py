"""What a node sees besides the state: its run, its attempt, its config, its item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .events import EventType

if TYPE_CHECKING:
    from .events import EventHub

__all__ = ["NodeContext"]


class NodeContext:
    """Passed to node functions that take a ``ctx`` (or ``context``) parameter.

    Attributes: ``run_id``, ``node``, ``attempt`` (1-based), ``config`` (the
    node's config), ``item`` and ``index`` (for a node run by a map edge).
    """

    __slots__ = ("run_id", "node", "attempt", "config", "item", "index", "_hub")

    def __init__(self, run_id: str, node: str, attempt: int, config: dict[str, Any],
                 item: Any, index: int | None, hub: EventHub) -> None:
        self.run_id = run_id
        self.node = node
        self.attempt = attempt
        self.config = config
        self.item = item
        self.index = index
        self._hub = hub

    def log(self, message: str, **fields: Any) -> None:
        """Publish a ``log`` event in the run's event stream (and its WebSocket feed)."""
        self._hub.publish(EventType.LOG, self.node, message=message, **fields)
