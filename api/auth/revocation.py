"""Open WebSocket feeds end when their API key is revoked.

A request is checked when it arrives; a live feed lasts as long as its run, so the key
it was opened with is checked again while it is open: at once when the key is revoked
through this process (``POST /api/v1/keys/{id}/revoke``, rotation's end), and every
:data:`RECHECK_SECONDS` against the store for revocations made elsewhere (another
instance, ``actorflow keys revoke``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

__all__ = ["RECHECK_SECONDS", "Revocations"]

#: How often an open feed's key is read again from the store.
RECHECK_SECONDS = 10.0


class Revocations:
    """Wake-ups for the feeds open with each key of this process."""

    def __init__(self) -> None:
        self._waiting: dict[str, anyio.Event] = {}

    def revoked(self, key_id: str) -> None:
        """``key_id`` was revoked here: its open feeds look now."""
        event = self._waiting.pop(key_id, None)
        if event is not None:
            event.set()

    async def watch(self, key_id: str, in_force: Callable[[str], Awaitable[bool]],
                    every: float = RECHECK_SECONDS) -> None:
        """Return once ``key_id`` is no longer in force (never while it is)."""
        while True:
            event = self._waiting.setdefault(key_id, anyio.Event())
            with anyio.move_on_after(every):
                await event.wait()
            if not await in_force(key_id):
                return
